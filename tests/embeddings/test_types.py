"""Result types: frozen; those holding arrays compare and hash by identity, the numeric ones by value."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from embeddings import Detection, Face, Quality, Verification


def _detection() -> Detection:
    return Detection(box=(0.0, 0.0, 10.0, 10.0), landmarks=np.zeros((5, 2), np.float32), score=0.99)


def _face() -> Face:
    quality = Quality(box_size=10.0, sharpness=1.0, yaw=0.0, pitch=0.0, roll=0.0)
    crop, embedding = np.zeros((160, 160, 3), np.uint8), np.ones(128, np.float32) / np.sqrt(128)
    return Face((0.0, 0.0, 10.0, 10.0), np.zeros((5, 2), np.float32), 0.99, quality, crop, embedding, "m-v1")


@pytest.mark.parametrize("make", [_detection, _face], ids=["Detection", "Face"])
def test_results_holding_arrays_hash_and_compare_by_identity(make):
    """Value equality would raise on the arrays' ambiguous truth value, and an array has no hash."""
    one, twin = make(), make()
    assert one == one and one != twin
    assert len({one, twin, one}) == 2 and {one: "seen"}[one] == "seen"


def test_numeric_results_hash_and_compare_by_value():
    assert Verification(0.5, 1.1, True) == Verification(0.5, 1.1, True)
    assert len({Verification(0.5, 1.1, True), Verification(0.5, 1.1, True)}) == 1
    assert hash(Quality(10.0, 1.0, 0.0, 0.0, 0.0)) == hash(Quality(10.0, 1.0, 0.0, 0.0, 0.0))


@pytest.mark.parametrize("make", [_detection, _face, lambda: Verification(0.5, 1.1, True)])
def test_results_cannot_be_changed(make):
    result = make()
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(result, dataclasses.fields(result)[0].name, None)
