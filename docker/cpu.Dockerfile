# edgeyolo on CPU: onnxruntime + OpenVINO, no torch. Default: `edgeyolo bench` on the shipped model.
#   docker build -f docker/cpu.Dockerfile -t edgeyolo:cpu .
#   docker run --rm -v edgeyolo-cache:/cache edgeyolo:cpu
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
RUN pip install --no-cache-dir "onnxruntime==1.20.1" "openvino==2024.6.0" ./

USER 10001:10001
VOLUME ["/cache"]
ENTRYPOINT ["edgeyolo"]
CMD ["bench", "--device", "cpu"]
