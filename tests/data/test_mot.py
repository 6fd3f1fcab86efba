"""MOTChallenge files: writing, reading back, refusing bad lines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgeyolo.data.formats import DatasetError
from edgeyolo.data.mot import (
    MotRows,
    SequenceInfo,
    find_sequences,
    format_gt,
    format_results,
    read_mot,
    read_sequence_info,
)


def rows() -> MotRows:
    return MotRows(
        np.array([1, 1, 2]),
        np.array([1, 2, 1]),
        np.array([[10, 20, 40, 60], [0, 0, 5.5, 5.25], [12, 21, 42, 61]], np.float64),
        np.array([0.9, 0.8, 0.7]),
        np.array([1.0, 0.5, 0.75]),
        np.array([3, 0, 3]),
    )


def test_ground_truth_and_results_round_trip(tmp_path: Path):
    gt = tmp_path / "gt.txt"
    gt.write_text(format_gt(rows()))
    assert gt.read_text().splitlines()[0] == "1,1,10.00,20.00,30.00,40.00,1,1,1.000,3"
    back = read_mot(gt)
    np.testing.assert_allclose(back.xyxy, rows().xyxy)
    assert back.track_id.tolist() == [1, 2, 1] and back.class_id.tolist() == [3, 0, 3]
    assert back.visibility.tolist() == [1.0, 0.5, 0.75] and back.at(2).track_id.tolist() == [1]
    res = tmp_path / "res.txt"
    res.write_text(format_results(rows()))
    assert res.read_text().splitlines()[1] == "1,2,0.00,0.00,5.50,5.25,0.8000,-1,-1,-1"
    back = read_mot(res)
    assert back.class_id.tolist() == [-1, -1, -1] and back.confidence.tolist() == [0.9, 0.8, 0.7]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("1,2,3", "at least 6 finite numbers"),
        ("1,a,3,4,5,6", "not a MOT line"),
        ("0,1,3,4,5,6", "frame"),
        ("1,1,3,4,-5,6", "w and h"),
        ("1,1,nan,4,5,6", "finite"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path: Path, line: str, message: str):
    path = tmp_path / "gt.txt"
    path.write_text(f"1,1,0,0,1,1\n{line}\n")
    with pytest.raises(DatasetError, match=rf"gt.txt:2: .*{message}"):
        read_mot(path)


def test_sequences_are_found_and_their_info_checked(tmp_path: Path):
    seq = tmp_path / "a"
    seq.mkdir()
    (seq / "seqinfo.ini").write_text(SequenceInfo("a", 10, 25, 64, 48).format())
    assert read_sequence_info(seq) == SequenceInfo("a", 10, 25.0, 64, 48)
    assert find_sequences(tmp_path) == [seq] and find_sequences(seq) == [seq]
    (seq / "seqinfo.ini").write_text("[Sequence]\nseqLength=0\nimWidth=1\nimHeight=1\n")
    with pytest.raises(DatasetError, match="must be positive"):
        read_sequence_info(seq)
    (seq / "seqinfo.ini").write_text("not ini")
    with pytest.raises(DatasetError, match=r"not a usable seqinfo\.ini"):
        read_sequence_info(seq)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="holds no MOTChallenge sequence"):
        find_sequences(tmp_path / "empty")
    with pytest.raises(DatasetError, match="not a folder of MOTChallenge sequences"):
        find_sequences(tmp_path / "missing")
