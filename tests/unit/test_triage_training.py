"""The training data of triage's model since the sixth step of issue #12: the other writers'
sets are trained on, and leave-one-writer-out leaves every text of one set out."""

from __future__ import annotations

import numpy as np
import pytest

import benchmarks.train_understanding as train
from benchmarks.train_understanding import triage_examples, triage_weights, writer_sets


def test_writer_sets_are_trained_on_and_one_can_be_left_out() -> None:
    sets = writer_sets()
    # explicit, by name: a set still held out (heldout6, registered or not) is never trained on
    held = {f"heldout{k}" for k in range(1, 6)}
    assert set(sets) == held | {f"train6{w}" for w in "abcdefghi"}
    assert {i.split for i in sets["heldout1"]} == {"heldout"}  # the odd half; dev comes apart
    everything = {text for text, _ in triage_examples([])}
    assert all(i.text in everything for items in sets.values() for i in items)
    for name, items in sets.items():
        kept = {text for text, _ in triage_examples([], leave_out=name)}
        assert not kept & {i.text for i in items}, name
        others = [i.text for other, its in sets.items() if other != name for i in its]
        assert sum(t in kept for t in others) >= 0.99 * len(others), name  # shared texts go


def test_weights_scale_majors_and_other_writers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(train, "MAJOR_WEIGHT", 3.0)
    monkeypatch.setattr(train, "WRITER_WEIGHT", 2.0)
    examples = [("a", "major"), ("b", "general"), ("c", "major")]
    assert triage_weights(examples, {"c", "b"}) == [3.0, 2.0, 6.0]


def test_sparse_products_equal_the_dense_ones() -> None:
    rows = [[0, 2], [], [2, 3, 0], [1]]  # an empty text; feature 4 in no text
    scale = [0.5, 1.0, 0.25, 2.0]
    dense = np.zeros((4, 5), dtype=np.float32)
    for i, row in enumerate(rows):
        dense[i, row] = scale[i]
    x = train._Sparse(rows, scale, 5)
    w = np.arange(10, dtype=np.float32).reshape(5, 2) - 3
    g = np.arange(8, dtype=np.float32).reshape(4, 2) / 7
    np.testing.assert_allclose(x.times(w), dense @ w, rtol=1e-6)
    np.testing.assert_allclose(x.transposed_times(g), dense.T @ g, rtol=1e-6)


def test_every_training_file_of_a_writer_is_trained_on() -> None:
    files = {p.stem.removeprefix("triage_") for p in train.DATA.glob("triage_train*.yaml")}
    assert files == set(train.TRAIN_SETS)
    sets = writer_sets()
    assert all(len(sets[name]) >= 900 for name in train.TRAIN_SETS)
    assert {i.label for name in train.TRAIN_SETS for i in sets[name]} == set(train.TRIAGE_CLASSES)
