"""Open-set decisions calibrated to the gallery: what share of strangers a threshold lets through.

An encoder's spec carries its per-comparison false-accept curve (`EncoderSpec.far_curve`: the share of
different-person pairs closer than each distance, measured on real faces). A stranger compared with a gallery of
`n` faces is falsely named when any of the `n` comparisons falls within the threshold, so the false-positive
identification rate is about `1 - (1 - far) ** n`: the threshold for a target FPIR shrinks as the gallery grows.
Treating a person's several faces as independent chances over-counts (they are alike), so this errs on the strict
side; `benchmarks/identify.py` measures the rate it gives on real galleries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

FarCurve = Sequence[tuple[float, float]]  # (distance, share of different-person pairs closer than it), increasing


def far_at(curve: FarCurve, distance: float) -> float:
    """The per-comparison false-accept rate of a threshold: log-linear between the curve's points, clamped to its
    ends (below its first point the rate is at most the first point's)."""
    distances = [d for d, _ in curve]
    if distance <= distances[0]:
        return curve[0][1]
    if distance >= distances[-1]:
        return curve[-1][1]
    i = next(i for i, d in enumerate(distances) if d >= distance)
    (d0, f0), (d1, f1) = curve[i - 1], curve[i]
    share = (distance - d0) / (d1 - d0)
    return math.exp(math.log(f0) + share * (math.log(f1) - math.log(f0)))


def distance_for_far(curve: FarCurve, far: float) -> float:
    """The threshold whose per-comparison false-accept rate is `far` (the curve inverted, log-linear); rates below
    the curve's first point give its first distance, the strictest the measurement supports."""
    if far <= curve[0][1]:
        return curve[0][0]
    if far >= curve[-1][1]:
        return curve[-1][0]
    i = next(i for i, (_, f) in enumerate(curve) if f >= far)
    (d0, f0), (d1, f1) = curve[i - 1], curve[i]
    share = (math.log(far) - math.log(f0)) / (math.log(f1) - math.log(f0))
    return d0 + share * (d1 - d0)


def comparison_far(*, fpir: float, gallery_size: int) -> float:
    """The per-comparison false-accept rate that names at most `fpir` of strangers in a gallery of this many faces."""
    if not 0.0 < fpir < 1.0:
        raise ValueError(f"fpir must be between 0 and 1, not {fpir}")
    return -math.expm1(math.log1p(-fpir) / max(gallery_size, 1))


def gallery_fpir(*, far: float, gallery_size: int) -> float:
    """The share of strangers a gallery of this many faces names at a per-comparison rate `far` (`comparison_far`
    inverted)."""
    return -math.expm1(gallery_size * math.log1p(-far))  # an empty gallery names nobody


def identification_threshold(curve: FarCurve, *, fpir: float, gallery_size: int) -> float:
    """The distance under which a gallery of `gallery_size` faces names at most `fpir` of strangers."""
    return distance_for_far(curve, comparison_far(fpir=fpir, gallery_size=gallery_size))


OPERATING_FARS = {"strict": 1e-4, "loose": 1e-2}
"""Per-comparison false-accept rates of the strict and loose operating points; "normal" is the encoder's 1:1
threshold (LFW's best accuracy): for FaceNet about 1 in 10,000 different-person pairs, 1 in 200, and 1 in 100."""


def operating_points(curve: FarCurve, threshold: float) -> dict[str, tuple[float, float]]:
    """name -> (distance, per-comparison false-accept rate) of the strict, normal and loose cuts: the three choices
    a person gets instead of a distance (the numbers stay available to experts)."""
    strict, loose = (distance_for_far(curve, far) for far in (OPERATING_FARS["strict"], OPERATING_FARS["loose"]))
    return {
        "strict": (min(strict, threshold), far_at(curve, min(strict, threshold))),
        "normal": (threshold, far_at(curve, threshold)),
        "loose": (max(loose, threshold), far_at(curve, max(loose, threshold))),
    }
