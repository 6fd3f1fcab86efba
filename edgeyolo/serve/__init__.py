"""Serving edgeyolo models behind a real NVIDIA Triton Inference Server.

- `triton_models`: the Python-backend models of the ensemble (preprocess, model step, postprocess); they
  run inside Triton's Python-backend stub and reuse `edgeyolo.runtime`.
- `server`: starts the `tritonserver` binary shipped in the `nvidia-pytriton` wheel on a generated
  repository and stops it cleanly.
"""
