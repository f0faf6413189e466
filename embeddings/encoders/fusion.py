"""facenet, sface and dlib-resnet together: the L2-normalised concatenation of their unit vectors, weighted (384-D).

Each member reads its own crop (its template and size) of the one detected face; `load_encoder` builds the members
and `FusedEncoder` weighs and joins their vectors. The squared distance of two fused vectors is
2 - 2 * sum(w^2 cos) / sum(w^2): a weighted mean of the members' cosines. The weights were chosen on LFW View 1 only
(pairsDevTrain / pairsDevTest), by `python benchmarks/fusion.py` (its docstring says how); View 2 was measured once.
Slower than any member alone (it runs all three networks) and more accurate than each.
"""

from __future__ import annotations

import numpy as np

from embeddings.encoders import EncoderSpec
from embeddings.encoders.facenet import SPEC as FACENET

# Squared weights 0.15, 0.05, 0.80 (View 1's best grid point, steps of 0.05): dlib's cosines spread least, so it
# weighs most; the weights are what make the members' scales comparable, not a ranking of the members.
MEMBERS = (("facenet", 0.387), ("sface", 0.224), ("dlib-resnet", 0.894))

# The share of different-person pairs closer than each distance: different-person pairs of the LFW faces of every
# other person (sorted by name), `python benchmarks/identify.py --encoder fusion`, its calibration table (after
# `python benchmarks/fusion.py --search-cache` joined the members' cached vectors of those faces). The 1:1
# threshold lets 0.4% of strangers' pairs through (FaceNet's 0.5%).
# fmt: off
FAR_CURVE = (
    (0.325, 1.28e-07), (0.350, 2.56e-07), (0.375, 8.97e-07), (0.400, 1.92e-06), (0.425, 2.69e-06),
    (0.450, 2.95e-06), (0.475, 4.74e-06), (0.500, 9.1e-06), (0.525, 3.32e-05), (0.550, 0.000128),
    (0.575, 0.00043), (0.600, 0.00129), (0.625, 0.00362), (0.650, 0.00931), (0.675, 0.0224), (0.700, 0.0493),
    (0.725, 0.0992), (0.750, 0.183),
)
# fmt: on

SPEC = EncoderSpec(
    name="fusion",
    model_id="fusion-fn-sf-dl-v1",  # bump when a member's model id or a weight changes
    dim=128 * 3,
    # The first member's crop is the one a face keeps (and its quality is measured on).
    input_size=FACENET.input_size,
    template=FACENET.template,
    metric="euclidean",
    # LFW View 2 through our MTCNN, each member on its own template (6000 pairs, 10 folds; 99.57% ± 0.37% accuracy,
    # TAR 99.20% at FAR 1e-3, 0 detection failures; facenet alone 99.38%, sface 99.25%, dlib-resnet 98.97%), mean of
    # the 10 best training-fold thresholds, `python benchmarks/fusion.py` (the row facenet + sface + dlib-resnet).
    threshold=0.630,
    # Average-linkage cut for groups of unknown faces: 99.6% pair precision, 85.9% recall, 99.2% pure groups on
    # windows of 2,000 LFW faces (5 seeds; `benchmarks/clustering.py`'s windows and `score` at cuts 0.46-0.52, its
    # own grid for this encoder jumps from 0.45, 99.9% / 67.8%, to 0.55, 94.7% / 96.5%): FaceNet's recall with half
    # its wrong pairs; precision falls to 98.6% by 0.52, so the cut keeps its distance from that cliff. The same cut
    # between a group's mean face and the nearest enrolled face names 96.7% of enrolled people's groups, 98.3% of the
    # names right, and 1.0% of strangers' groups (`python benchmarks/clustering.py --encoder fusion`).
    group_distance=0.49,
    # Naming a new face after the owner of the nearest enrolled face, unasked: with 311 people enrolled with 3 faces
    # each, 93.1% of their new faces are named, 0.07% wrongly, and 0.05% of strangers' faces are named after someone
    # (identify.py's `automatic_naming` at 0.47 on `python benchmarks/identify.py --encoder fusion`'s faces; its own
    # grid stops at 0.45: 88.5%, 0.07%, 0.00%). FaceNet's cut names 84.4% at the same risk.
    auto_assign_distance=0.47,
    far_curve=FAR_CURVE,
    preprocess=lambda crops: np.asarray(crops, np.float32),  # unused: each member preprocesses its own crops
    weights_file="",
    weights_sha256="",
    weights_package="",
    weights_member="",
    source="its members': facenet, sface, dlib-resnet",
    licence="its members': MIT (facenet), Apache-2.0 (sface), public domain (dlib-resnet)",
    members=MEMBERS,
)
