"""Source of the DeepStream bounding-box parser (`NvDsInferParseEdgeYolo`) and its Makefile.

Kept as text so `write_deepstream_config` can place it beside the config without package data. It is
compiled on the DeepStream machine (against `sources/includes/nvdsinfer_custom_impl.h`); it cannot be
built or run where DeepStream is absent.

It reads one of the two layouts meant for DeepStream, by output name:

- ``detections`` [max_det, 6] (``--outputs nms``): x1, y1, x2, y2, score, class, zero-padded; every row
  with a score above the class's pre-cluster-threshold becomes an object (cluster-mode 4: no clustering).
- ``output`` [N, 5+nc] (``--outputs decoded``): cx, cy, w, h, objectness, class probabilities; the best
  class per row, score = objectness * probability, kept above pre-cluster-threshold; nvinfer then runs
  its NMS (cluster-mode 2).

Boxes are in network-input pixels; nvinfer maps them back through its own letterbox
(maintain-aspect-ratio + symmetric-padding).
"""

from __future__ import annotations

PARSE_FUNCTION = "NvDsInferParseEdgeYolo"
LIBRARY = "libnvdsinfer_custom_impl_edgeyolo.so"
SOURCE_NAME = "nvdsparsebbox_edgeyolo.cpp"

PARSER_SOURCE = r"""// edgeyolo bounding-box parser for DeepStream nvinfer, written by edgeyolo export.
// Build: make   (needs the DeepStream SDK headers and TensorRT/CUDA includes; see the Makefile)
#include <algorithm>
#include <cstring>
#include <iostream>
#include <vector>

#include "nvdsinfer_custom_impl.h"

namespace {

const NvDsInferLayerInfo *findLayer(const std::vector<NvDsInferLayerInfo> &layers, const char *name) {
    for (const auto &layer : layers) {
        if (layer.layerName != nullptr && std::strcmp(layer.layerName, name) == 0) {
            return &layer;
        }
    }
    return nullptr;
}

float threshold(const NvDsInferParseDetectionParams &params, unsigned int classId) {
    const auto &t = params.perClassPreclusterThreshold;
    return classId < t.size() ? t[classId] : 0.0f;
}

void addBox(std::vector<NvDsInferParseObjectInfo> &objects, const NvDsInferNetworkInfo &net,
            float x1, float y1, float x2, float y2, float score, unsigned int classId) {
    const float w = static_cast<float>(net.width), h = static_cast<float>(net.height);
    x1 = std::max(0.0f, std::min(x1, w));
    x2 = std::max(0.0f, std::min(x2, w));
    y1 = std::max(0.0f, std::min(y1, h));
    y2 = std::max(0.0f, std::min(y2, h));
    if (!(x2 > x1) || !(y2 > y1)) {
        return;  // empty after clipping, or NaN
    }
    NvDsInferParseObjectInfo obj{};
    obj.classId = classId;
    obj.detectionConfidence = score;
    obj.left = x1;
    obj.top = y1;
    obj.width = x2 - x1;
    obj.height = y2 - y1;
    objects.push_back(obj);
}

// --outputs nms: detections [max_det, 6] = x1, y1, x2, y2, score, class (unused rows are zeros).
bool parseNms(const NvDsInferLayerInfo &layer, const NvDsInferNetworkInfo &net,
              const NvDsInferParseDetectionParams &params, std::vector<NvDsInferParseObjectInfo> &objects) {
    if (layer.dataType != FLOAT || layer.inferDims.numDims != 2 || layer.inferDims.d[1] != 6u) {
        std::cerr << "edgeyolo parser: 'detections' must be float [max_det, 6]" << std::endl;
        return false;
    }
    const float *row = static_cast<const float *>(layer.buffer);
    const int rows = static_cast<int>(layer.inferDims.d[0]);
    for (int i = 0; i < rows; ++i, row += 6) {
        const float score = row[4];
        const int classId = static_cast<int>(row[5]);
        if (!(score > 0.0f) || classId < 0 || classId >= static_cast<int>(params.numClassesConfigured)) {
            continue;
        }
        if (score >= threshold(params, static_cast<unsigned int>(classId))) {
            addBox(objects, net, row[0], row[1], row[2], row[3], score, static_cast<unsigned int>(classId));
        }
    }
    return true;
}

// --outputs decoded: output [N, 5+nc] = cx, cy, w, h, objectness, class probabilities.
bool parseDecoded(const NvDsInferLayerInfo &layer, const NvDsInferNetworkInfo &net,
                  const NvDsInferParseDetectionParams &params,
                  std::vector<NvDsInferParseObjectInfo> &objects) {
    const int nc = static_cast<int>(params.numClassesConfigured);
    if (layer.dataType != FLOAT || layer.inferDims.numDims != 2 ||
        static_cast<int>(layer.inferDims.d[1]) != 5 + nc) {
        std::cerr << "edgeyolo parser: 'output' must be float [N, 5 + num-detected-classes]" << std::endl;
        return false;
    }
    const int stride = 5 + nc;
    const float *row = static_cast<const float *>(layer.buffer);
    const int rows = static_cast<int>(layer.inferDims.d[0]);
    for (int i = 0; i < rows; ++i, row += stride) {
        const float objectness = row[4];
        const float *probs = row + 5;
        const int classId = static_cast<int>(std::max_element(probs, probs + nc) - probs);
        const float score = objectness * probs[classId];
        if (!(score >= threshold(params, static_cast<unsigned int>(classId)))) {
            continue;
        }
        const float halfW = row[2] * 0.5f, halfH = row[3] * 0.5f;
        addBox(objects, net, row[0] - halfW, row[1] - halfH, row[0] + halfW, row[1] + halfH, score,
               static_cast<unsigned int>(classId));
    }
    return true;
}

}  // namespace

extern "C" bool NvDsInferParseEdgeYolo(std::vector<NvDsInferLayerInfo> const &outputLayersInfo,
                                       NvDsInferNetworkInfo const &networkInfo,
                                       NvDsInferParseDetectionParams const &detectionParams,
                                       std::vector<NvDsInferParseObjectInfo> &objectList) {
    if (const NvDsInferLayerInfo *layer = findLayer(outputLayersInfo, "detections")) {
        return parseNms(*layer, networkInfo, detectionParams, objectList);
    }
    if (const NvDsInferLayerInfo *layer = findLayer(outputLayersInfo, "output")) {
        return parseDecoded(*layer, networkInfo, detectionParams, objectList);
    }
    std::cerr << "edgeyolo parser: no 'detections' or 'output' layer; export with --outputs nms or decoded"
              << std::endl;
    return false;
}

CHECK_CUSTOM_PARSE_FUNC_PROTOTYPE(NvDsInferParseEdgeYolo);
"""

MAKEFILE = r"""# Builds the edgeyolo nvinfer parser in a DeepStream container or on a Jetson with DeepStream.
DS_INCLUDES ?= /opt/nvidia/deepstream/deepstream/sources/includes
CUDA_VER ?= 12.6
CXXFLAGS ?= -O2 -Wall -std=c++14
CPPFLAGS += -I$(DS_INCLUDES) -I/usr/local/cuda-$(CUDA_VER)/include

libnvdsinfer_custom_impl_edgeyolo.so: nvdsparsebbox_edgeyolo.cpp
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -shared -fPIC -o $@ $<

clean:
	rm -f libnvdsinfer_custom_impl_edgeyolo.so

.PHONY: clean
"""
