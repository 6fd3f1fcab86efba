"""Synthetic tracking videos: deterministic MOTChallenge sequences; shapes enter, leave, occlude."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgeyolo.data.formats import DatasetError
from edgeyolo.data.mot import read_mot, read_sequence_info
from edgeyolo.data.synth_video import generate_video


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> list[Path]:
    return generate_video(tmp_path_factory.mktemp("v") / "seqs", sequences=2, frames=60, seed=3, imgsz=128)


def test_sequences_are_mot_challenge_folders(videos):
    assert [p.name for p in videos] == ["synth-01", "synth-02"]
    for seq in videos:
        info = read_sequence_info(seq)
        assert (info.frames, info.width, info.height, info.frame_rate) == (60, 128, 128, 30.0)
        assert len(list((seq / "img1").glob("*.png"))) == 60
        gt = read_mot(seq / "gt" / "gt.txt")
        assert gt.frame.min() == 1 and gt.frame.max() <= 60
        assert (gt.xyxy[:, :2] >= 0).all() and (gt.xyxy[:, 2:] <= 128).all()
        assert ((gt.class_id >= 0) & (gt.class_id < 5)).all()
        for tid in np.unique(gt.track_id):  # one class per identity
            assert len(set(gt.class_id[gt.track_id == tid].tolist())) == 1


def test_objects_enter_leave_and_occlude(tmp_path):
    (seq,) = generate_video(tmp_path / "s", sequences=1, frames=200, seed=0, imgsz=128)
    gt = read_mot(seq / "gt" / "gt.txt")
    first = {t: gt.frame[gt.track_id == t].min() for t in np.unique(gt.track_id)}
    last = {t: gt.frame[gt.track_id == t].max() for t in np.unique(gt.track_id)}
    assert any(f > 1 for f in first.values()) and any(f < 200 for f in last.values())
    assert (gt.visibility < 0.9).any()  # partly hidden behind nearer shapes or the frame's edge
    gaps = [np.diff(np.sort(gt.frame[gt.track_id == t])).max(initial=1) for t in first]
    assert max(gaps) > 1  # some identity vanishes (occluded) and comes back


def test_same_seed_same_bytes_and_refusals(tmp_path, videos):
    again = generate_video(tmp_path / "again", sequences=2, frames=60, seed=3, imgsz=128)
    for a, b in zip(videos, again, strict=True):
        assert (a / "gt" / "gt.txt").read_bytes() == (b / "gt" / "gt.txt").read_bytes()
        assert (a / "img1" / "000030.png").read_bytes() == (b / "img1" / "000030.png").read_bytes()
    with pytest.raises(DatasetError, match="exists and is not empty"):
        generate_video(tmp_path / "again", sequences=1, frames=5)
    with pytest.raises(DatasetError, match="frames must be at least 1"):
        generate_video(tmp_path / "x", frames=0)
    with pytest.raises(DatasetError, match="imgsz must be at least 64"):
        generate_video(tmp_path / "x", imgsz=32)
    assert not (tmp_path / "x").exists()
