"""Building blocks of the design documents' architectures."""
