"""Uploaded images, decoded within the configured limits: the one place where bad files become HTTP 400s."""

from __future__ import annotations

import numpy as np
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from embeddings import ImageError, read
from facesearch.core.errors import ApplicationError


def check_upload_size(file: UploadedFile) -> None:
    if not file.size:
        raise ApplicationError("The file is empty.", {"file": file.name})
    if file.size > settings.FACESEARCH_MAX_UPLOAD_BYTES:
        raise ApplicationError(
            f"The file is larger than the {settings.FACESEARCH_MAX_UPLOAD_BYTES} byte limit.",
            {"file": file.name, "size": file.size, "limit": settings.FACESEARCH_MAX_UPLOAD_BYTES},
        )


def read_upload(file: UploadedFile) -> np.ndarray:
    """Decode an upload to RGB pixels, or raise ApplicationError naming what is wrong with it."""
    check_upload_size(file)
    file.seek(0)
    try:
        image = read(
            file.read(), max_pixels=settings.FACESEARCH_MAX_PIXELS, max_bytes=settings.FACESEARCH_MAX_UPLOAD_BYTES
        )
    except ImageError as exc:
        raise ApplicationError(str(exc), {"file": file.name}) from exc
    finally:
        file.seek(0)
    return image
