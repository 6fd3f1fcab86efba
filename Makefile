# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# torch is installed first and pinned so pip never resolves a CUDA build.
TORCH := torch==2.13.0
# The tritonserver binary for `edgeyolo serve` and its tests; --no-deps: the wheel's own Python API
# (unused) pins numpy<2, which the rest of the environment does not satisfy.
TRITON := nvidia-pytriton==0.7.0
# The tracking evaluator (`edgeyolo val --track`): Roboflow trackers' TrackEval port. --no-deps: the wheel
# requires opencv-python (a second OpenCV beside the headless one) and supervision; edgeyolo imports only
# trackers.eval's metric modules, which need numpy and scipy (edgeyolo/mot_eval/metrics.py).
TRACKEVAL := trackers==2.6.1

.PHONY: demo test lint venv clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(TORCH)
	$(PIP) install -q -e '.[dev]'
	$(PIP) install -q --no-deps $(TRITON)
	$(PIP) install -q --no-deps $(TRACKEVAL)
	touch $@

venv: $(VENV)/.installed

DEMO := demo
# The main job on the shipped model: export it to ONNX (verified), detect on freshly generated images,
# and print the validation mAP of PyTorch and ONNX side by side on a held-out synthetic set.
demo: venv
	$(VENV)/bin/edgeyolo info --imgsz 256
	$(VENV)/bin/edgeyolo data synth --out $(DEMO)/heldout --train 0 --val 200 --seed 1 --imgsz 256 --overwrite
	$(VENV)/bin/edgeyolo export -o $(DEMO)/shipped.onnx
	$(VENV)/bin/edgeyolo detect --model $(DEMO)/shipped.onnx --source $(DEMO)/heldout/images/val \
		--max-frames 8 --save $(DEMO)/detections
	@echo "annotated images: $(abspath $(DEMO)/detections)"
	$(VENV)/bin/edgeyolo val --data $(DEMO)/heldout/data.yaml \
		--model $$($(PY) -c "from edgeyolo.defaults import shipped_weights; print(shipped_weights())") \
		$(DEMO)/shipped.onnx

test: venv
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) build dist site *.egg-info $(DEMO)
