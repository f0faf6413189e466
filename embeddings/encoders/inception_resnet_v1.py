"""Inception-ResNet-v1 as in Sandberg's FaceNet, in backend-agnostic Keras 3 (keras.layers and keras.ops only).

Layer names follow Hiroki Taniai's Keras 2 conversion (keras-facenet), so its weight file loads by layer name.
Importing this module imports Keras (and so the backend): only `build()` of an encoder should import it.
"""

from __future__ import annotations

import keras
from keras import layers

# Hyperparameters of the converted graph, read from the `model_config` of facenet_keras.h5.
BN_MOMENTUM = 0.995
BN_EPSILON = 0.001
DROPOUT_RATE = 0.2  # Sandberg's keep_probability 0.8


class ScaleSum(layers.Layer):
    """`inputs[0] + inputs[1] * scale`: the residual sum that keras-facenet wrote as a Lambda layer."""

    def __init__(self, scale: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, inputs: list) -> keras.KerasTensor:
        return inputs[0] + inputs[1] * self.scale


def _conv_bn(x, filters: int, kernel_size, name: str, strides: int = 1, padding: str = "same"):
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=False, name=name)(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, scale=False, name=f"{name}_BatchNorm")(x)
    return layers.Activation("relu", name=f"{name}_Activation")(x)


def _residual(x, branches: list, scale: float, prefix: str, activation: bool = True):
    mixed = layers.Concatenate(name=f"{prefix}_Concatenate")(branches)
    up = layers.Conv2D(x.shape[-1], 1, padding="same", use_bias=True, name=f"{prefix}_Conv2d_1x1")(mixed)
    x = ScaleSum(scale, name=f"{prefix}_ScaleSum")([x, up])
    return layers.Activation("relu", name=f"{prefix}_Activation")(x) if activation else x


def _block35(x, i: int):
    p = f"Block35_{i}"
    b0 = _conv_bn(x, 32, 1, f"{p}_Branch_0_Conv2d_1x1")
    b1 = _conv_bn(x, 32, 1, f"{p}_Branch_1_Conv2d_0a_1x1")
    b1 = _conv_bn(b1, 32, 3, f"{p}_Branch_1_Conv2d_0b_3x3")
    b2 = _conv_bn(x, 32, 1, f"{p}_Branch_2_Conv2d_0a_1x1")
    b2 = _conv_bn(b2, 32, 3, f"{p}_Branch_2_Conv2d_0b_3x3")
    b2 = _conv_bn(b2, 32, 3, f"{p}_Branch_2_Conv2d_0c_3x3")
    return _residual(x, [b0, b1, b2], 0.17, p)


def _block17(x, i: int):
    p = f"Block17_{i}"
    b0 = _conv_bn(x, 128, 1, f"{p}_Branch_0_Conv2d_1x1")
    b1 = _conv_bn(x, 128, 1, f"{p}_Branch_1_Conv2d_0a_1x1")
    b1 = _conv_bn(b1, 128, (1, 7), f"{p}_Branch_1_Conv2d_0b_1x7")
    b1 = _conv_bn(b1, 128, (7, 1), f"{p}_Branch_1_Conv2d_0c_7x1")
    return _residual(x, [b0, b1], 0.1, p)


def _block8(x, i: int, scale: float = 0.2, activation: bool = True):
    p = f"Block8_{i}"
    b0 = _conv_bn(x, 192, 1, f"{p}_Branch_0_Conv2d_1x1")
    b1 = _conv_bn(x, 192, 1, f"{p}_Branch_1_Conv2d_0a_1x1")
    b1 = _conv_bn(b1, 192, (1, 3), f"{p}_Branch_1_Conv2d_0b_1x3")
    b1 = _conv_bn(b1, 192, (3, 1), f"{p}_Branch_1_Conv2d_0c_3x1")
    return _residual(x, [b0, b1], scale, p, activation)


def inception_resnet_v1(input_size: int = 160, dim: int = 128) -> keras.Model:
    """The inference graph: (N, S, S, 3) prewhitened RGB -> (N, dim) embedding before L2 normalisation."""
    inputs = keras.Input((input_size, input_size, 3), name="input_1")
    x = _conv_bn(inputs, 32, 3, "Conv2d_1a_3x3", strides=2, padding="valid")
    x = _conv_bn(x, 32, 3, "Conv2d_2a_3x3", padding="valid")
    x = _conv_bn(x, 64, 3, "Conv2d_2b_3x3")
    x = layers.MaxPooling2D(3, strides=2, name="MaxPool_3a_3x3")(x)
    x = _conv_bn(x, 80, 1, "Conv2d_3b_1x1", padding="valid")
    x = _conv_bn(x, 192, 3, "Conv2d_4a_3x3", padding="valid")
    x = _conv_bn(x, 256, 3, "Conv2d_4b_3x3", strides=2, padding="valid")
    for i in range(1, 6):
        x = _block35(x, i)

    b0 = _conv_bn(x, 384, 3, "Mixed_6a_Branch_0_Conv2d_1a_3x3", strides=2, padding="valid")
    b1 = _conv_bn(x, 192, 1, "Mixed_6a_Branch_1_Conv2d_0a_1x1")
    b1 = _conv_bn(b1, 192, 3, "Mixed_6a_Branch_1_Conv2d_0b_3x3")
    b1 = _conv_bn(b1, 256, 3, "Mixed_6a_Branch_1_Conv2d_1a_3x3", strides=2, padding="valid")
    b2 = layers.MaxPooling2D(3, strides=2, name="Mixed_6a_Branch_2_MaxPool_1a_3x3")(x)
    x = layers.Concatenate(name="Mixed_6a")([b0, b1, b2])
    for i in range(1, 11):
        x = _block17(x, i)

    b0 = _conv_bn(x, 256, 1, "Mixed_7a_Branch_0_Conv2d_0a_1x1")
    b0 = _conv_bn(b0, 384, 3, "Mixed_7a_Branch_0_Conv2d_1a_3x3", strides=2, padding="valid")
    b1 = _conv_bn(x, 256, 1, "Mixed_7a_Branch_1_Conv2d_0a_1x1")
    b1 = _conv_bn(b1, 256, 3, "Mixed_7a_Branch_1_Conv2d_1a_3x3", strides=2, padding="valid")
    b2 = _conv_bn(x, 256, 1, "Mixed_7a_Branch_2_Conv2d_0a_1x1")
    b2 = _conv_bn(b2, 256, 3, "Mixed_7a_Branch_2_Conv2d_0b_3x3")
    b2 = _conv_bn(b2, 256, 3, "Mixed_7a_Branch_2_Conv2d_1a_3x3", strides=2, padding="valid")
    b3 = layers.MaxPooling2D(3, strides=2, name="Mixed_7a_Branch_3_MaxPool_1a_3x3")(x)
    x = layers.Concatenate(name="Mixed_7a")([b0, b1, b2, b3])
    for i in range(1, 6):
        x = _block8(x, i)
    x = _block8(x, 6, scale=1.0, activation=False)

    x = layers.GlobalAveragePooling2D(name="AvgPool")(x)
    x = layers.Dropout(DROPOUT_RATE, name="Dropout")(x)
    x = layers.Dense(dim, use_bias=False, name="Bottleneck")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, scale=False, name="Bottleneck_BatchNorm")(x)
    return keras.Model(inputs, x, name="inception_resnet_v1")
