"""The one FacePipeline of this process, configured from settings and loaded lazily on first use."""

from __future__ import annotations

import functools

from django.conf import settings

from embeddings import FacePipeline


@functools.cache
def get_pipeline() -> FacePipeline:
    return FacePipeline(
        encoder=settings.FACESEARCH_ENCODER,
        weights_dir=settings.FACESEARCH_WEIGHTS_DIR,
        min_face_size=settings.FACESEARCH_MIN_FACE_SIZE,
    )
