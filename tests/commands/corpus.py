"""The standing bad-input corpus: malformed frames, files, checkpoints, model YAMLs, datasets and ONNX models,
generated on the fly (nothing binary is committed) and described as cases for `corpus_driver`.

Each case: {"id", "category", "mode": "cli" | "api", "argv" | "func"+"args", "expect"}, where expect is
"error": a clear one-line error (CLI exit 2); "ok": a correct result; "any": either, never a traceback.
"""

from __future__ import annotations

import json
import math
import random
import zipfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from tests.commands.bad_inputs import (
    SMALL_CFG,
    onnx_with_metadata,
    recompress,
    small_payload,
    with_tensor,
    write_payload,
)

Case = dict[str, Any]


def _case(cases: list[Case], category: str, name: str, expect: str, **how: Any) -> None:
    cases.append({"id": f"{category}/{name}", "category": category, "expect": expect, **how})


def _cli(cases: list[Case], category: str, name: str, expect: str, argv: list[str]) -> None:
    """A case run as `edgeyolo ARGV`."""
    _case(cases, category, name, expect, mode="cli", argv=argv)


def _image_bytes(ext: str, image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(ext, image)
    assert ok
    return buf.tobytes()


def _png_header(w: int, h: int) -> bytes:
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))


# -- frames as files (edgeyolo detect --source) -------------------------------------------------------------
def frame_files(root: Path, cases: list[Case]) -> None:
    d = root / "frames"
    d.mkdir()
    rng = np.random.default_rng(0)
    good = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    jpg, png = _image_bytes(".jpg", good), _image_bytes(".png", good)
    files: dict[str, tuple[bytes, str]] = {
        "empty.jpg": (b"", "error"),
        "empty.png": (b"", "error"),
        "text.jpg": (b"this is not an image\n", "error"),
        "html.png": (b"<html><body>404</body></html>", "error"),
        "jpeg-magic-junk.jpg": (b"\xff\xd8\xff\xe0" + rng.bytes(500), "error"),
        "png-magic-junk.png": (b"\x89PNG\r\n\x1a\n" + rng.bytes(500), "error"),
        "png-header-only.png": (_png_header(64, 48), "error"),
        "png-100000x100000.png": (_png_header(100_000, 100_000), "error"),
        "png-0x0.png": (_png_header(0, 0), "error"),
        "random.bmp": (b"BM" + rng.bytes(200), "error"),
        "random.tif": (b"II*\x00" + rng.bytes(200), "error"),
        "png-as-jpg.jpg": (png, "ok"),  # the suffix lies, the content decodes
        "one-pixel.png": (_image_bytes(".png", good[:1, :1]), "ok"),
        "gray.png": (_image_bytes(".png", good[:, :, 0]), "ok"),
        "rgba.png": (_image_bytes(".png", np.dstack([good, good[:, :, :1]])), "ok"),
        "16bit.png": (_image_bytes(".png", good.astype(np.uint16) * 257), "ok"),
        "thin-1x2000.png": (_image_bytes(".png", np.full((1, 2000, 3), 80, np.uint8)), "ok"),
        "tall-3000x1.png": (_image_bytes(".png", np.full((3000, 1, 3), 80, np.uint8)), "ok"),
        "video-text.mp4": (b"not a video", "error"),
        "video-empty.avi": (b"", "error"),
        "unknown.xyz": (jpg, "error"),
    }
    for cut in (10, 100, len(jpg) // 2):
        files[f"jpg-cut-{cut}.jpg"] = (jpg[:cut], "any")  # a cut JPEG may decode partially
    for cut in (20, 60, len(png) // 2):
        files[f"png-cut-{cut}.png"] = (png[:cut], "any")
    for name, (data, expect) in files.items():
        (d / name).write_bytes(data)
        _cli(cases, "frame-files", name, expect, ["detect", "--source", str(d / name), "--json"])
    (d / "empty-dir").mkdir()
    (d / "no-images").mkdir()
    (d / "no-images" / "a.txt").write_text("x")
    (d / "mixed").mkdir()
    (d / "mixed" / "a.jpg").write_bytes(jpg)
    (d / "mixed" / "b.jpg").write_bytes(b"junk")
    for name, spec, expect in [
        ("empty-folder", d / "empty-dir", "error"),
        ("folder-without-images", d / "no-images", "error"),
        ("folder-good-and-corrupt", d / "mixed", "ok"),
        ("missing-path", d / "missing.jpg", "error"),
        ("glob-no-match", d / "*.nothing", "error"),
        ("bad-url-scheme", "ftp://127.0.0.1/x.jpg", "error"),
        ("negative-webcam", "-1", "error"),
    ]:
        _case(
            cases, "frame-files", name, expect, mode="cli", argv=["detect", "--source", str(spec), "--json"]
        )
    for name, args, expect in [
        ("max-frames-negative", ["--max-frames", "-3"], "any"),
        ("conf-above-1", ["--conf", "1.5"], "error"),
        ("conf-nan", ["--conf", "nan"], "error"),
        ("iou-negative", ["--iou", "-0.1"], "error"),
        ("max-det-zero", ["--max-det", "0"], "error"),
        ("classes-out-of-range", ["--classes", "99"], "error"),
        ("classes-text", ["--classes", "a,b"], "error"),
        ("connect-timeout-text", ["--connect-timeout", "soon"], "error"),
    ]:
        argv = ["detect", "--source", str(d / "one-pixel.png"), *args]
        _case(cases, "frame-files", name, expect, mode="cli", argv=argv)


# -- frames as arrays (Detector.detect / detect_batch) ------------------------------------------------------
def frame_arrays(cases: list[Case]) -> None:
    arrays: list[tuple[str, dict[str, Any], str]] = [
        ("float32", {"shape": [48, 64, 3], "dtype": "float32"}, "error"),
        ("float64", {"shape": [48, 64, 3], "dtype": "float64"}, "error"),
        ("float-nan", {"shape": [48, 64, 3], "dtype": "float32", "fill": math.nan}, "error"),
        ("int8", {"shape": [48, 64, 3], "dtype": "int8"}, "error"),
        ("int64", {"shape": [48, 64, 3], "dtype": "int64"}, "error"),
        ("bool", {"shape": [48, 64, 3], "dtype": "bool"}, "error"),
        ("complex", {"shape": [48, 64, 3], "dtype": "complex64"}, "error"),
        ("object", {"shape": [4, 4, 3], "dtype": "object"}, "error"),
        ("uint16", {"shape": [48, 64, 3], "dtype": "uint16"}, "any"),
        ("empty-0x0", {"shape": [0, 0, 3]}, "error"),
        ("empty-rows", {"shape": [0, 64, 3]}, "error"),
        ("empty-cols", {"shape": [48, 0, 3]}, "error"),
        ("zero-channels", {"shape": [48, 64, 0]}, "error"),
        ("two-channels", {"shape": [48, 64, 2]}, "error"),
        ("five-channels", {"shape": [48, 64, 5]}, "error"),
        ("1d", {"shape": [100]}, "error"),
        ("0d", {"shape": []}, "error"),
        ("4d", {"shape": [2, 48, 64, 3]}, "error"),
        ("5d", {"shape": [1, 1, 8, 8, 3]}, "error"),
        ("one-pixel", {"shape": [1, 1, 3]}, "ok"),
        ("gray-2d", {"shape": [48, 64]}, "ok"),
        ("gray-1-channel", {"shape": [48, 64, 1]}, "ok"),
        ("bgra", {"shape": [48, 64, 4]}, "ok"),
        ("thin-1x4000", {"shape": [1, 4000, 3]}, "ok"),
        ("tall-4000x1", {"shape": [4000, 1, 3]}, "ok"),
        ("fortran-order", {"shape": [48, 64, 3], "view": "transpose"}, "ok"),
        ("negative-strides", {"shape": [48, 64, 3], "view": "flip"}, "ok"),
        ("strided-slice", {"shape": [48, 64, 3], "view": "slice"}, "ok"),
        ("read-only", {"shape": [48, 64, 3], "view": "readonly"}, "ok"),
        ("none", {"value": None}, "error"),
        ("string", {"value": "frame.jpg"}, "error"),
        ("int", {"value": 7}, "error"),
        ("nested-list", {"value": [[[0, 0, 0]]]}, "error"),
    ]
    for name, spec, expect in arrays:
        _case(
            cases, "frame-arrays", f"detect-{name}", expect, mode="api", func="detect", args={"frame": spec}
        )
    frame = {"shape": [48, 64, 3]}
    batches: list[tuple[str, dict[str, Any], str]] = [
        ("bare-frame", {"batch": frame}, "error"),
        ("bare-gray", {"batch": {"shape": [48, 64]}}, "error"),
        ("none", {"batch": {"value": None}}, "error"),
        ("int", {"batch": {"value": 3}}, "error"),
        ("string", {"batch": {"value": "a.jpg"}}, "error"),
        ("list-with-none", {"frames": [frame, {"value": None}]}, "error"),
        ("list-with-float-frame", {"frames": [frame, {"shape": [8, 8, 3], "dtype": "float32"}]}, "error"),
        ("list-with-empty-frame", {"frames": [frame, {"shape": [0, 8, 3]}]}, "error"),
        ("empty-list", {"frames": []}, "ok"),
        ("generator", {"frames": [frame, frame], "generator": True}, "ok"),
        ("mixed-sizes", {"frames": [frame, {"shape": [20, 90, 3]}, {"shape": [64, 48]}]}, "ok"),
        ("stack-4d", {"batch": {"shape": [3, 48, 64, 3]}}, "ok"),
    ]
    for name, args, expect in batches:
        _case(cases, "frame-arrays", f"batch-{name}", expect, mode="api", func="detect_batch", args=args)


# -- checkpoints (edgeyolo info --weights, edgeyolo detect --model x.pt, the API) ----------------------------
def checkpoints(root: Path, cases: list[Case]) -> None:
    import torch

    d = root / "checkpoints"
    d.mkdir()
    payload = small_payload()
    good = write_payload(d / "good.pt", payload)
    raw = good.read_bytes()
    rng = random.Random(0)
    files: dict[str, tuple[Path, str]] = {"good": (good, "ok")}

    def put(name: str, data: bytes, expect: str = "error") -> None:
        (d / f"{name}.pt").write_bytes(data)
        files[name] = (d / f"{name}.pt", expect)

    put("empty", b"")
    put("hello", b"hello")
    put("yaml-text", b"nc: 2\nnames: [a, b]\n")
    put("json-text", json.dumps({"model": {}, "names": ["a"]}).encode())
    for size in (1, 16, 1000, 100_000):
        put(f"random-{size}", rng.randbytes(size))
    put("pk-junk", b"PK\x03\x04" + rng.randbytes(300))
    put("pickle-proto-junk", b"\x80\x02" + rng.randbytes(300))
    for frac in (0.01, 0.3, 0.6, 0.95, 0.999):
        put(f"truncated-{frac}", raw[: int(len(raw) * frac)])
    put("zero-tail", raw[: len(raw) // 2] + bytes(len(raw) - len(raw) // 2))
    with zipfile.ZipFile(d / "plain-zip.pt", "w") as z:
        z.writestr("notes.txt", "hello")
    files["plain-zip"] = (d / "plain-zip.pt", "error")
    files["deflated-storages"] = (recompress(good, d / "deflated.pt"), "error")
    files["storage-bomb"] = (recompress(good, d / "bomb.pt", inflate_to=512 * 2**20), "error")

    state = payload["model"]
    changes: dict[str, dict[str, Any]] = {
        "missing-model": {"model": ...},
        "missing-cfg": {"cfg": ...},
        "missing-names": {"names": ...},
        "missing-imgsz": {"imgsz": ...},
        "imgsz-str": {"imgsz": "abc"},
        "imgsz-none": {"imgsz": None},
        "imgsz-negative": {"imgsz": -64},
        "imgsz-zero": {"imgsz": 0},
        "imgsz-huge": {"imgsz": 10**9},
        "imgsz-float": {"imgsz": 64.5},
        "imgsz-bool": {"imgsz": True},
        "imgsz-list": {"imgsz": [64, 64]},
        "meta-list": {"meta": [1, 2, 3]},
        "meta-str": {"meta": "x"},
        "names-none": {"names": None},
        "names-str": {"names": "ab"},
        "names-of-none": {"names": [None, None]},
        "names-nested": {"names": [["a"], ["b"]]},
        "names-three": {"names": ["a", "b", "c"]},
        "names-empty": {"names": []},
        "cfg-int": {"cfg": 3},
        "cfg-bad-yaml": {"cfg": "nc: [2\nbackbone: {"},
        "cfg-empty": {"cfg": ""},
        "cfg-other-model": {"cfg": (Path(__file__).parent / "nope").name},
        "model-list": {"model": [1, 2]},
        "model-empty": {"model": {}},
        "model-non-tensor": {"model": {k: 1 for k in list(state)[:3]}},
        "model-int-keys": {"model": {i: v for i, v in enumerate(state.values())}},
        "missing-tensor": {"model": dict(list(state.items())[1:])},
        "extra-tensor": {"model": {**state, "model.99.weight": torch.zeros(1)}},
        "wrong-shape": {"model": {**state, "model.0.conv.weight": torch.zeros(1, 2, 3)}},
        "nan-weight": {"model": with_tensor(payload, "model.0.conv.weight", math.nan)},
        "inf-weight": {"model": with_tensor(payload, "model.0.conv.weight", math.inf)},
        "nan-stride": {"model": with_tensor(payload, "model.28.stride", math.nan)},
        "nan-anchors": {"model": with_tensor(payload, "model.28.anchors", math.nan)},
        "zero-stride": {"model": with_tensor(payload, "model.28.stride", 0.0)},
        "huge-stride": {"model": with_tensor(payload, "model.28.stride", 1e30)},
    }
    for name, change in changes.items():
        files[name] = (write_payload(d / f"{name}.pt", payload, **change), "error")
    for name, obj in {"a-list": [1, 2], "a-tensor": torch.zeros(3), "an-int": 5, "a-string": "model"}.items():
        torch.save(obj, d / f"{name}.pt")
        files[name] = (d / f"{name}.pt", "error")
    legacy = d / "legacy.pt"
    torch.save(payload, legacy, _use_new_zipfile_serialization=False)
    files["legacy-format"] = (legacy, "ok")

    for name, (path, expect) in files.items():
        _cli(cases, "checkpoints", f"info-{name}", expect, ["info", "--weights", str(path), "--json"])
        _case(
            cases,
            "checkpoints",
            f"api-{name}",
            expect,
            mode="api",
            func="load_checkpoint",
            args={"path": str(path)},
        )
    frame = root / "checkpoint-frame.jpg"
    cv2.imwrite(str(frame), np.full((48, 64, 3), 90, np.uint8))
    for name in (
        "good",
        "hello",
        "truncated-0.6",
        "storage-bomb",
        "imgsz-str",
        "nan-stride",
        "legacy-format",
    ):
        path, expect = files[name]
        argv = ["detect", "--model", str(path), "--source", str(frame), "--json"]
        _case(cases, "checkpoints", f"detect-{name}", expect, mode="cli", argv=argv)
    for name in ("hello", "truncated-0.3", "plain-zip"):
        path, _ = files[name]
        argv = ["info", "--weights", str(path), "--trust-checkpoint"]
        _case(cases, "checkpoints", f"trusted-{name}", "error", mode="cli", argv=argv)


# -- model YAMLs (edgeyolo info --cfg, create_model) --------------------------------------------------------
def model_yamls(root: Path, cases: list[Case]) -> None:
    from edgeyolo.config import load_config

    d = root / "yamls"
    d.mkdir()
    base_text = load_config(SMALL_CFG).text
    base = yaml.safe_load(base_text)
    texts: dict[str, tuple[bytes, str]] = {
        "valid": (base_text.encode(), "ok"),
        "empty": (b"", "error"),
        "comment-only": (b"# nothing\n", "error"),
        "list-root": (b"- 1\n- 2\n", "error"),
        "scalar-root": (b"42\n", "error"),
        "bad-syntax-1": (b"nc: [2\nbackbone:\n", "error"),
        "bad-syntax-2": (b"nc: 2\n  backbone: x\n y", "error"),
        "tabs": (b"nc:\t2\n\tbackbone: []\n", "error"),
        "binary": (random.Random(1).randbytes(400), "error"),
        "latin1": ("nc: 2  # caf\xe9\n".encode("latin-1") + base_text.encode(), "error"),
        "alias-bomb": (
            b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
            b"backbone: [*d, *d, *d, *d]\nhead: [*d]\n",
            "error",
        ),
        "deep-nesting": (b"backbone: " + b"[" * 5000 + b"]" * 5000 + b"\nhead: [1]\n", "error"),
        "python-tag": (b"nc: !!python/object/apply:os.system ['true']\n" + base_text.encode(), "error"),
    }
    top: dict[str, tuple[dict[str, Any], str]] = {
        "no-backbone": ({"backbone": ...}, "error"),
        "no-head": ({"head": ...}, "error"),
        "head-empty": ({"head": []}, "error"),
        "head-dict": ({"head": {"a": 1}}, "error"),
        "backbone-str": ({"backbone": "mobilenet"}, "error"),
        "nc-zero": ({"nc": 0}, "error"),
        "nc-negative": ({"nc": -1}, "error"),
        "nc-str": ({"nc": "two"}, "error"),
        "nc-float": ({"nc": 1.5}, "error"),
        "nc-bool": ({"nc": True}, "error"),
        "nc-null": ({"nc": None}, "error"),
        "nc-ten-million": ({"nc": 10**7}, "error"),
        "nc-huge": ({"nc": 10**30}, "error"),
        "depth-str": ({"depth_multiple": "abc"}, "error"),
        "depth-zero": ({"depth_multiple": 0}, "error"),
        "depth-negative": ({"depth_multiple": -1}, "error"),
        "depth-inf": ({"depth_multiple": math.inf}, "error"),
        "depth-nan": ({"depth_multiple": math.nan}, "error"),
        "depth-1000": ({"depth_multiple": 1000}, "error"),
        "depth-list": ({"depth_multiple": [1]}, "error"),
        "width-str": ({"width_multiple": "abc"}, "error"),
        "width-zero": ({"width_multiple": 0}, "error"),
        "width-inf": ({"width_multiple": math.inf}, "error"),
        "width-nan": ({"width_multiple": math.nan}, "error"),
        "width-1000": ({"width_multiple": 1000}, "error"),
        "width-1e300": ({"width_multiple": 1e300}, "error"),
        "width-tiny": ({"width_multiple": 1e-9}, "any"),
        "anchors-str": ({"anchors": "many"}, "error"),
        "anchors-odd": ({"anchors": [[10, 13, 16]] * 3}, "error"),
        "anchors-empty": ({"anchors": []}, "error"),
        "activation-unknown": ({"activation": "nn.Evil()"}, "error"),
    }
    for name, (change, expect) in top.items():
        data = {k: v for k, v in base.items()}
        for key, value in change.items():
            if value is ...:
                data.pop(key)
            else:
                data[key] = value
        texts[name] = (yaml.safe_dump(data, sort_keys=False).encode(), expect)
    head0 = list(base["head"][0])
    rows: dict[str, tuple[Any, str]] = {
        "row-3-fields": (head0[:3], "error"),
        "row-scalar": (5, "error"),
        "row-number-zero": ([head0[0], 0, *head0[2:]], "error"),
        "row-number-negative": ([head0[0], -2, *head0[2:]], "error"),
        "row-number-str": ([head0[0], "x", *head0[2:]], "error"),
        "row-number-million": ([head0[0], 10**6, *head0[2:]], "error"),
        "row-number-float": ([head0[0], 1.5, *head0[2:]], "error"),
        "row-module-unknown": ([*head0[:2], "EvilModule", head0[3]], "error"),
        "row-module-int": ([*head0[:2], 5, head0[3]], "error"),
        "row-module-eval": ([*head0[:2], "__import__('os').system", head0[3]], "error"),
        "row-args-str": ([*head0[:3], "64"], "error"),
        "row-channels-str": ([*head0[:3], ["many", 1, 1]], "error"),
        "row-channels-negative": ([*head0[:3], [-64, 1, 1]], "error"),
        "row-channels-huge": ([*head0[:3], [10**12, 1, 1]], "error"),
        "row-channels-1e308": ([*head0[:3], [1e308, 1, 1]], "error"),
        "row-kernel-zero": ([*head0[:3], [64, 0, 1]], "error"),
        "row-from-99": ([99, *head0[1:]], "error"),
        "row-from-str": (["a", *head0[1:]], "error"),
        "row-from-list-bad": ([[-1, 50], *head0[1:]], "error"),
    }
    for name, (row, expect) in rows.items():
        data = {k: v for k, v in base.items()}
        data["head"] = [row, *base["head"][1:]]
        texts[name] = (yaml.safe_dump(data, sort_keys=False).encode(), expect)
    data = {k: v for k, v in base.items()}
    data["head"] = base["head"][:-1]
    texts["detect-not-last"] = (yaml.safe_dump(data, sort_keys=False).encode(), "error")
    for name, (text, expect) in texts.items():
        path = d / f"{name}.yaml"
        path.write_bytes(text)
        _cli(cases, "model-yamls", f"info-{name}", expect, ["info", "--cfg", str(path), "--json"])
        if name in (
            "valid",
            "alias-bomb",
            "deep-nesting",
            "width-1000",
            "nc-ten-million",
            "row-number-million",
        ):
            _case(
                cases,
                "model-yamls",
                f"api-{name}",
                expect,
                mode="api",
                func="create_model",
                args={"path": str(path)},
            )


# -- datasets: data.yaml and label files (edgeyolo val, the readers) -----------------------------------------
def datasets(root: Path, model: Path, cases: list[Case]) -> None:
    d = root / "data"
    (d / "images" / "val").mkdir(parents=True)
    (d / "labels" / "val").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(2):
        cv2.imwrite(
            str(d / "images" / "val" / f"im{i}.png"), rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
        )
        (d / "labels" / "val" / f"im{i}.txt").write_text("0 0.5 0.5 0.25 0.25\n")
    (d / "empty").mkdir()
    (d / "list.txt").write_text("images/val/im0.png\nimages/val/missing.png\n")
    yamls: dict[str, tuple[str | bytes, str]] = {
        "valid": ("path: .\nval: images/val\nnames: [a, b, c, d, e]\n", "ok"),
        "names-dict": ("path: .\nval: images/val\nnames: {0: a, 1: b, 2: c, 3: d, 4: e}\n", "ok"),
        "empty": ("", "error"),
        "list-root": ("- a\n- b\n", "error"),
        "bad-syntax": ("val: [images\nnames: {", "error"),
        "binary": (random.Random(2).randbytes(300), "error"),
        "no-names": ("path: .\nval: images/val\n", "error"),
        "names-empty": ("path: .\nval: images/val\nnames: []\n", "error"),
        "names-str": ("path: .\nval: images/val\nnames: abc\n", "error"),
        "names-int": ("path: .\nval: images/val\nnames: 5\n", "error"),
        "names-dict-mixed-keys": ("path: .\nval: images/val\nnames: {0: a, x: b}\n", "error"),
        "no-val": ("path: .\ntrain: images/val\nnames: [a]\n", "error"),
        "val-missing": ("path: .\nval: images/nowhere\nnames: [a]\n", "error"),
        "val-empty-folder": ("path: .\nval: empty\nnames: [a]\n", "error"),
        "val-int": ("path: .\nval: 5\nnames: [a]\n", "error"),
        "val-dict": ("path: .\nval: {a: 1}\nnames: [a]\n", "error"),
        "path-int": ("path: 5\nval: images/val\nnames: [a]\n", "error"),
        "list-file-with-missing-image": ("path: .\nval: list.txt\nnames: [a, b, c, d, e]\n", "any"),
    }
    for name, (text, expect) in yamls.items():
        path = d / f"{name}.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        argv = ["val", "--model", str(model), "--data", str(path), "--json"]
        _case(cases, "datasets", f"val-{name}", expect, mode="cli", argv=argv)
        _case(
            cases, "datasets", f"api-{name}", expect, mode="api", func="load_data", args={"path": str(path)}
        )
    labels: dict[str, tuple[str | bytes, int]] = {  # content, rows that must survive
        "nan-class": ("nan 0.5 0.5 0.1 0.1\n", 0),
        "inf-class": ("inf 0.5 0.5 0.1 0.1\n", 0),
        "neg-inf-class": ("-inf 0.5 0.5 0.1 0.1\n", 0),
        "huge-class": ("1e400 0.5 0.5 0.1 0.1\n", 0),
        "negative-class": ("-1 0.5 0.5 0.1 0.1\n", 0),
        "fraction-class": ("0.5 0.5 0.5 0.1 0.1\n", 0),
        "class-too-large": ("7 0.5 0.5 0.1 0.1\n", 0),
        "text-class": ("person 0.5 0.5 0.1 0.1\n", 0),
        "four-columns": ("0 0.5 0.5 0.1\n", 0),
        "six-columns": ("0 0.5 0.5 0.1 0.1 0.9\n", 0),
        "coords-above-1": ("0 1.5 0.5 0.1 0.1\n", 0),
        "coords-negative": ("0 -0.5 0.5 0.1 0.1\n", 0),
        "coords-nan": ("0 nan 0.5 0.1 0.1\n", 0),
        "coords-inf": ("0 0.5 inf 0.1 0.1\n", 0),
        "zero-width": ("0 0.5 0.5 0 0.1\n", 0),
        "hex-number": ("0x1 0.5 0.5 0.1 0.1\n", 0),
        "good-and-bad": ("0 0.5 0.5 0.1 0.1\nnan 0.5 0.5 0.1 0.1\n1 0.2 0.2 0.1 0.1\n", 2),
        "blank-lines": ("\n\n0 0.5 0.5 0.1 0.1\n\n", 1),
        "crlf": ("0 0.5 0.5 0.1 0.1\r\n1 0.5 0.5 0.1 0.1\r\n", 2),
        "binary": (random.Random(3).randbytes(200), 0),
        "long-line": ("0 " + "0.5 " * 100000 + "\n", 0),
    }
    for name, (content, rows) in labels.items():
        sub = d / f"labels-{name}"
        (sub / "images").mkdir(parents=True)
        (sub / "labels").mkdir()
        cv2.imwrite(str(sub / "images" / "a.png"), np.full((48, 64, 3), 90, np.uint8))
        label = sub / "labels" / "a.txt"
        label.write_bytes(content if isinstance(content, bytes) else content.encode())
        (sub / "data.yaml").write_text("path: .\nval: images\nnames: [a, b, c, d, e]\n")
        argv = ["val", "--model", str(model), "--data", str(sub / "data.yaml"), "--json"]
        _case(cases, "datasets", f"val-label-{name}", "ok", mode="cli", argv=argv)
        args = {"path": str(label), "rows": rows}
        _case(cases, "datasets", f"labels-{name}", "ok", mode="api", func="read_labels", args=args)


# -- ONNX models (edgeyolo detect --model, Detector) ---------------------------------------------------------
def onnx_models(root: Path, model: Path, cases: list[Case]) -> None:
    import onnx
    from onnx import TensorProto, helper

    d = root / "onnx"
    d.mkdir()
    raw = model.read_bytes()
    rng = random.Random(4)
    files: dict[str, tuple[Path, str]] = {"valid": (model, "ok")}
    meta_changes: dict[str, dict[str, Any]] = {
        "names-two": {"names": ["a", "b"]},
        "four-levels": {"strides": [8, 16, 32, 64], "anchors": [[10, 13, 16, 30, 33, 23]] * 4},
        "as-decoded": {"outputs": "decoded"},
        "as-nms": {"outputs": "nms"},
        "as-uint8": {"input": "uint8-nhwc-bgr"},
        "imgsz-640": {"imgsz": [640, 640]},
        "strides-4": {"strides": [4, 8, 16]},
        "anchors-two-per-level": {"anchors": [[10, 13, 16, 30]] * 3},
        "names-empty": {"names": []},
        "strides-anchors-disagree": {"strides": [8, 16]},
        "anchors-odd": {"anchors": [[10, 13, 16]] * 3},
        "imgsz-zero": {"imgsz": [0, 0]},
        "imgsz-str": {"imgsz": "abc"},
        "outputs-bogus": {"outputs": "bogus"},
        "input-bogus": {"input": "rgb"},
        "precision-bogus": {"precision": "fp8"},
        "letterbox-bogus": {"letterbox": {"colour": 1}},
        "schema-99": {"schema": 99},
        "strides-str": {"strides": ["a", "b", "c"]},
        "names-null": {"names": None},
    }
    for name, change in meta_changes.items():
        files[f"meta-{name}"] = (onnx_with_metadata(model, d / f"{name}.onnx", **change), "error")
    for name, value in {
        "not-json": "{oops",
        "json-array": "[1, 2]",
        "json-string": '"x"',
        "empty": "",
    }.items():
        m = onnx.load(str(model))
        for prop in m.metadata_props:
            if prop.key == "edgeyolo":
                prop.value = value
        onnx.save(m, str(d / f"record-{name}.onnx"))
        files[f"record-{name}"] = (d / f"record-{name}.onnx", "error")
    m = onnx.load(str(model))
    del m.metadata_props[:]
    onnx.save(m, str(d / "no-record.onnx"))
    files["no-record"] = (d / "no-record.onnx", "error")
    record = next(p.value for p in onnx.load(str(model)).metadata_props if p.key == "edgeyolo")
    x = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 320, 320])
    y = helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, 320, 320])
    identity = helper.make_model(
        helper.make_graph([helper.make_node("Identity", ["images"], ["out"])], "g", [x], [y]),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    identity.metadata_props.add(key="edgeyolo", value=record)
    onnx.save(identity, str(d / "identity.onnx"))
    files["identity-graph"] = (d / "identity.onnx", "error")

    def put(name: str, data: bytes) -> None:
        (d / f"{name}.onnx").write_bytes(data)
        files[name] = (d / f"{name}.onnx", "error")

    put("empty", b"")
    put("text", b"ir_version: 8\n")
    for size in (10, 1000, 100_000):
        put(f"random-{size}", rng.randbytes(size))
    for frac in (0.001, 0.1, 0.5, 0.99):
        put(f"truncated-{frac}", raw[: int(len(raw) * frac)])
    (d / "garbage.xml").write_text("<net><broken")
    files["openvino-garbage-xml"] = (d / "garbage.xml", "error")
    (d / "ir-dir").mkdir()
    files["openvino-dir-without-model"] = (d / "ir-dir", "error")
    (d / "model.bin").write_bytes(b"x")
    files["unknown-suffix"] = (d / "model.bin", "error")
    files["missing"] = (d / "missing.onnx", "error")

    frame = root / "onnx-frame.jpg"
    cv2.imwrite(str(frame), np.full((48, 64, 3), 90, np.uint8))
    for name, (path, expect) in files.items():
        argv = ["detect", "--model", str(path), "--source", str(frame), "--json"]
        _case(cases, "onnx-models", f"detect-{name}", expect, mode="cli", argv=argv)
        _case(
            cases,
            "onnx-models",
            f"api-{name}",
            expect,
            mode="api",
            func="load_detector",
            args={"path": str(path)},
        )
    for name in (
        "valid",
        "meta-names-two",
        "meta-as-decoded",
        "meta-imgsz-640",
        "no-record",
        "identity-graph",
    ):
        path, expect = files[name]
        argv = ["detect", "--model", str(path), "--backend", "openvino", "--source", str(frame), "--json"]
        _case(cases, "onnx-models", f"openvino-{name}", expect, mode="cli", argv=argv)


CATEGORIES = ("frame-files", "frame-arrays", "checkpoints", "model-yamls", "datasets", "onnx-models")


def build_corpus(root: Path) -> list[Case]:
    """Write every malformed input under `root` and return the cases that use them."""
    from edgeyolo.defaults import shipped_onnx

    cases: list[Case] = []
    frame_files(root, cases)
    frame_arrays(cases)
    checkpoints(root, cases)
    model_yamls(root, cases)
    datasets(root, shipped_onnx(), cases)
    onnx_models(root, shipped_onnx(), cases)
    return cases
