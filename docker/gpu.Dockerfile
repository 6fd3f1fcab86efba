# edgeyolo on an NVIDIA GPU with TensorRT 10.3 (NGC release 24.08: CUDA 12.6, Python 3.10).
# The engine is built at first run on the GPU that runs it (engines do not move between GPUs or
# TensorRT versions) and cached in the /cache volume, keyed by GPU name and TensorRT version.
#   docker build -f docker/gpu.Dockerfile -t edgeyolo:gpu .
#   docker run --rm --gpus all -v edgeyolo-cache:/cache edgeyolo:gpu
FROM nvcr.io/nvidia/tensorrt:24.08-py3

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    EDGEYOLO_CACHE=/cache

RUN groupadd --gid 10001 edgeyolo \
    && useradd --uid 10001 --gid edgeyolo --create-home --shell /usr/sbin/nologin edgeyolo \
    && mkdir -p /cache \
    && chown edgeyolo:edgeyolo /cache

WORKDIR /opt/edgeyolo
COPY pyproject.toml README.md ./
COPY edgeyolo ./edgeyolo
COPY export ./export
COPY runtime ./runtime
# TensorRT comes with the base image; torch (CPU wheel) is only used to trace the checkpoint to ONNX.
RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu "torch==2.4.1" \
    && pip install --no-cache-dir "onnx==1.16.2" "onnxsim==0.4.36" "cuda-python==12.6.0" ./
COPY --chmod=0755 docker/trt-entrypoint.sh /usr/local/bin/edgeyolo-entrypoint

USER 10001:10001
VOLUME ["/cache"]
ENTRYPOINT ["/usr/local/bin/edgeyolo-entrypoint"]
CMD ["bench", "--device", "gpu"]
