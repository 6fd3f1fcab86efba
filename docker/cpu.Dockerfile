# edgeyolo on CPU: onnxruntime + OpenVINO, no torch. Default: `edgeyolo bench` on the shipped model.
#   docker build -f docker/cpu.Dockerfile -t edgeyolo:cpu .
#   docker run --rm -v edgeyolo-cache:/cache edgeyolo:cpu
# Serving (a real Triton server, the nvidia-pytriton wheel's CPU build; bind all addresses inside the container):
#   docker run --rm --shm-size=256m -p 8000-8002:8000-8002 edgeyolo:cpu serve --host 0.0.0.0
FROM python:3.12.8-slim-bookworm

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
RUN pip install --no-cache-dir "onnxruntime==1.20.1" "openvino==2024.6.0" \
        "tritonclient[http,grpc]==2.73.0" "pillow==11.1.0" "onnx==1.17.0" ./ \
    && pip install --no-cache-dir --no-deps "nvidia-pytriton==0.7.0"

USER 10001:10001
VOLUME ["/cache"]
EXPOSE 8000 8001 8002
ENTRYPOINT ["edgeyolo"]
CMD ["bench", "--device", "cpu"]
