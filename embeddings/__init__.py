"""facesearch's face library: read an image, find, align and encode its faces, compare embeddings.

    from embeddings import FacePipeline, read
    faces = FacePipeline().encode(read("photo.jpg"))

Importing it is cheap: TensorFlow and the networks load on the first detection or encoding.
"""

from embeddings.clustering import cluster
from embeddings.encoders import get_spec, load_encoder
from embeddings.errors import EmbeddingsError, ImageError, NoFaceError, WeightsError
from embeddings.io import read
from embeddings.pipeline import Face2Vec, FacePipeline, distance, most_prominent, nearest_to_centre
from embeddings.types import Detection, Face, Quality, Verification

__all__ = [
    "Detection",
    "EmbeddingsError",
    "Face",
    "Face2Vec",
    "FacePipeline",
    "ImageError",
    "NoFaceError",
    "Quality",
    "Verification",
    "WeightsError",
    "cluster",
    "distance",
    "get_spec",
    "load_encoder",
    "most_prominent",
    "nearest_to_centre",
    "read",
]
