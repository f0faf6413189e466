"""The one FacePipeline of this process, configured from settings and loaded lazily on first use."""

from __future__ import annotations

import functools
import logging

from django.conf import settings

from embeddings import FacePipeline


@functools.cache
def get_pipeline() -> FacePipeline:
    return FacePipeline(
        encoder=settings.FACESEARCH_ENCODER,
        detector=settings.FACESEARCH_DETECTOR,
        weights_dir=settings.FACESEARCH_WEIGHTS_DIR,
        min_face_size=settings.FACESEARCH_MIN_FACE_SIZE,
    )


def accelerators() -> list[str]:
    """The GPUs TensorFlow sees (empty on a CPU host, where everything runs unchanged)."""
    import tensorflow as tf

    return [device.name for device in tf.config.list_physical_devices("GPU")]


def tensorflow_threads_apply() -> int:
    """Give TensorFlow FACESEARCH_TF_THREADS threads (0: leave its default, all cores); before its first op, which
    fixes them for the process."""
    threads = settings.FACESEARCH_TF_THREADS
    if threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    return threads


def warm_up_and_log(logger: logging.Logger) -> None:
    """Load and run the networks once, and say where they run: a GPU worker that silently fell back to the CPU is
    the first thing to rule out when ingest is slow."""
    threads = tensorflow_threads_apply()
    get_pipeline().warm_up()
    found = accelerators()
    logger.info(
        "networks loaded; running on %s, %s",
        ", ".join(found) if found else "the CPU (no GPU found)",
        f"{threads} thread(s)" if threads else "all cores",
    )
