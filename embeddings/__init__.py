"""facesearch's face library: read an image, find, align and encode its faces, compare embeddings.

    from embeddings import FacePipeline, read
    faces = FacePipeline().encode(read("photo.jpg"))

The names in `__all__` are the API: `FacePipeline` and `read`; the result types (`Face`, `Detection`, `Quality`,
`Verification`); the errors; `distance` and `same_person`, the one metric and the one decision rule every comparison
uses; `cluster`; `nearest_to_centre` (LFW's subject); `get_spec` (an encoder's facts without loading it). Anything
else is reached through its module (`embeddings.encoders`, `embeddings.weights`, ...) and may change with it.

Importing it is cheap: TensorFlow and the networks load on the first detection or encoding.
"""

import os

# TensorFlow's C++ warnings and errors (a CUDA probe on CPU-only hosts, a warning on every empty MTCNN stage) are not
# the caller's business; set the variable to 0 to see them. Two INFO lines TensorFlow prints before its logging is set
# up (oneDNN, no CUDA driver) ignore it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from embeddings.clustering import cluster
from embeddings.encoders import get_spec
from embeddings.errors import EmbeddingsError, ImageError, NoFaceError, WeightsError
from embeddings.io import read
from embeddings.pipeline import FacePipeline, distance, nearest_to_centre, same_person
from embeddings.types import Detection, Face, Quality, Verification

__all__ = [
    "Detection",
    "EmbeddingsError",
    "Face",
    "FacePipeline",
    "ImageError",
    "NoFaceError",
    "Quality",
    "Verification",
    "WeightsError",
    "cluster",
    "distance",
    "get_spec",
    "nearest_to_centre",
    "read",
    "same_person",
]
