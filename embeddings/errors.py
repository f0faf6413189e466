"""The library's exceptions: callers catch `ImageError` for bad input, `EmbeddingsError` for anything else."""


class EmbeddingsError(Exception):
    """Base class of every error the library raises on purpose."""


class ImageError(EmbeddingsError):
    """The input is not a usable image: not an image, truncated, empty, or above the pixel/byte limits."""


class WeightsError(EmbeddingsError):
    """Model weights are missing or do not match their published checksum."""


class NoFaceError(EmbeddingsError):
    """An image that had to yield one face (`FacePipeline.verify`, `encode_most_prominent`) has none."""
