#!/usr/bin/env bash
# Entrypoint of the GPU and Jetson images. TensorRT engines only run on the GPU and TensorRT version
# that built them, so the engine is built here, at first run, and cached in $EDGEYOLO_CACHE (a volume)
# under a key of device name + TensorRT version + checkpoint hash; later runs reuse it.
# Then runs `edgeyolo "$@"`; `bench` without --model gets --model <engine>. EDGEYOLO_ENGINE holds the
# engine path. EDGEYOLO_WEIGHTS selects another checkpoint (default: the shipped one).
set -euo pipefail

cache="${EDGEYOLO_CACHE:-/cache}"
weights="${EDGEYOLO_WEIGHTS:-}"
if [[ -z "${weights}" ]]; then
    weights="$(python3 -c 'from edgeyolo.defaults import shipped_weights; print(shipped_weights())')"
fi
if [[ -r /proc/device-tree/model && -e /etc/nv_tegra_release ]]; then
    device="$(tr -d '\0' < /proc/device-tree/model)"
else
    device="$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1)"
fi
device="$(printf '%s' "${device}" | tr -c 'A-Za-z0-9._-' '_')"
trt="$(python3 -c 'import tensorrt; print(tensorrt.__version__)')"
key="$(sha256sum "${weights}" | cut -c1-12)"
engine="${cache}/engines/${device}-trt${trt}/$(basename "${weights%.*}")-${key}-fp16.engine"

if [[ ! -s "${engine}" || ! -s "${engine}.json" ]]; then
    echo "edgeyolo: building ${engine} (TensorRT ${trt} on ${device}); later runs reuse it" >&2
    mkdir -p "$(dirname "${engine}")"
    edgeyolo export --weights "${weights}" --format trt --fp16 --output "${engine}"
fi
export EDGEYOLO_ENGINE="${engine}"

if [[ "${1:-}" == "bench" && " $* " != *" --model "* ]]; then
    exec edgeyolo "$@" --model "${engine}"
fi
exec edgeyolo "$@"
