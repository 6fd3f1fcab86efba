"""edgeyolo: MobileNet-YOLO detectors to the edge. Importing this package never imports torch."""

__version__ = "0.1.0"
