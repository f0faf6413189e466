"""Open-set calibration: the per-comparison rate a gallery's size allows, and the encoder's curve read both ways."""

from __future__ import annotations

import pytest

from embeddings.calibration import comparison_far, distance_for_far, far_at, gallery_fpir, identification_threshold
from embeddings.encoders import get_spec

CURVE = get_spec("facenet").far_curve


def test_a_gallery_of_n_faces_gets_the_rate_that_names_fpir_of_strangers():
    for n in (1, 10, 1000, 1_000_000):
        far = comparison_far(fpir=0.01, gallery_size=n)
        assert 1 - (1 - far) ** n == pytest.approx(0.01, rel=1e-6)
        assert gallery_fpir(far=far, gallery_size=n) == pytest.approx(0.01, rel=1e-9)
    assert comparison_far(fpir=0.01, gallery_size=0) == pytest.approx(0.01)  # an empty gallery counts as one


@pytest.mark.parametrize("fpir", [0.0, 1.0, -0.1])
def test_an_impossible_target_is_refused(fpir):
    with pytest.raises(ValueError, match="fpir"):
        comparison_far(fpir=fpir, gallery_size=10)


def test_the_curve_read_both_ways_agrees_between_its_points():
    for distance in (0.61, 0.8, 0.93, 1.065, 1.19):
        assert distance_for_far(CURVE, far_at(CURVE, distance)) == pytest.approx(distance, abs=1e-9)


def test_outside_the_curve_the_strictest_measured_distance_and_the_last_rate_hold():
    assert distance_for_far(CURVE, 1e-12) == CURVE[0][0]
    assert far_at(CURVE, 0.1) == CURVE[0][1]
    assert far_at(CURVE, 2.0) == CURVE[-1][1]


def test_larger_galleries_get_stricter_thresholds():
    thresholds = [identification_threshold(CURVE, fpir=0.01, gallery_size=n) for n in (10, 100, 1000, 10_000)]
    assert thresholds == sorted(thresholds, reverse=True)
    assert len(set(thresholds)) == 4


def test_the_facenet_threshold_accepts_about_half_a_percent_of_different_people():
    # benchmarks/identify.py measured 0.48% of 200,000 random different-person LFW pairs within 1.065.
    assert 0.003 < far_at(CURVE, get_spec("facenet").threshold) < 0.007
