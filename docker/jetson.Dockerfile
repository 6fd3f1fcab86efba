# edgeyolo on a Jetson (Orin) with JetPack 6.1 / L4T r36.4: the board's TensorRT 10.3, CUDA 12.6.
# The image must match the board's L4T release (check: cat /etc/nv_tegra_release on the host).
#   docker build -f docker/jetson.Dockerfile -t edgeyolo:jetson .
#   docker run --rm --runtime nvidia --privileged \
#     -v /usr/bin/tegrastats:/usr/bin/tegrastats:ro -v edgeyolo-cache:/cache edgeyolo:jetson
# The first run builds the engine on the board into the cache volume (minutes); later runs reuse it.
# tegrastats is a host tool: mount it read-only; --privileged lets it read the power rails and
# the GPU/EMC load under /sys (without it `bench --device jetson` reports no power figures).
FROM nvcr.io/nvidia/l4t-jetpack:r36.4.0

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    EDGEYOLO_CACHE=/cache

# python3-libnvinfer is the board's TensorRT Python binding (JetPack apt repository, same release).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        python3-pip="22.0.2+dfsg-1ubuntu0.5" \
        python3-libnvinfer="10.3.0.30-1+cuda12.5" \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --gid 10001 edgeyolo \
    && useradd --uid 10001 --gid edgeyolo --groups video --create-home --shell /usr/sbin/nologin edgeyolo \
    && mkdir -p /cache \
    && chown edgeyolo:edgeyolo /cache

WORKDIR /opt/edgeyolo
COPY pyproject.toml README.md ./
COPY edgeyolo ./edgeyolo
COPY export ./export
COPY runtime ./runtime
# torch (CPU wheel) only traces the checkpoint to ONNX; the engine is built on the board at first run.
RUN pip3 install --no-cache-dir "torch==2.4.1" "onnx==1.16.2" "onnxsim==0.4.36" "cuda-python==12.6.0" ./
COPY --chmod=0755 docker/trt-entrypoint.sh /usr/local/bin/edgeyolo-entrypoint

USER 10001:10001
VOLUME ["/cache"]
ENTRYPOINT ["/usr/local/bin/edgeyolo-entrypoint"]
CMD ["bench", "--device", "jetson"]
