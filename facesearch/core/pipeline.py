"""The FacePipelines of this process, one per encoder, loaded lazily on first use; and which encoder serves.

The serving encoder is a database row (`core.models.EncoderState`), not the setting: a switch of encoder
(`photos.encoder_switch`) re-encodes the library while search keeps answering from the old vectors, then flips it.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from embeddings import FacePipeline
from embeddings.encoders import ENCODERS, EncoderSpec, get_spec
from facesearch.core.models import EncoderState

SERVING_CACHE_SECONDS = 5.0
"""How long a process goes on with the serving encoder it read: a search costs no query for it, and a switch deletes
the old vectors only once every process has read the new one (`photos.encoder_switch.CLEANUP_DELAY`)."""

_serving_read: tuple[str, float] | None = None  # (encoder, time.monotonic() of the read)


@dataclass(frozen=True)
class Encoders:
    """The serving encoder, and the one a switch is re-encoding the library with ("" when none)."""

    serving: str
    target: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        """Those whose faces photos are to have now, the serving one first."""
        return (self.serving, self.target) if self.target else (self.serving,)

    @property
    def model_ids(self) -> frozenset[str]:
        return frozenset(get_spec(name).model_id for name in self.names)

    @property
    def serving_model_id(self) -> str:
        return get_spec(self.serving).model_id


def encoders_read(*, lock: bool = False) -> Encoders:
    """The encoders as committed now (FACESEARCH_ENCODER before the row exists). `lock` holds a share lock on them
    until the transaction ends: faces stored under it cannot cross a switch's flip (`encoder_switch_finish`)."""
    with connection.cursor() as cursor:  # SQL: the ORM has no FOR SHARE, and its FOR UPDATE would serialise stores
        cursor.execute(
            f"SELECT serving, target FROM {EncoderState._meta.db_table} WHERE id = %s{' FOR SHARE' if lock else ''}",
            [EncoderState.SINGLETON],
        )
        row = cursor.fetchone()
    return Encoders(*row) if row else Encoders(settings.FACESEARCH_ENCODER)


def serving_encoder() -> str:
    """The encoder search, identification, naming and grouping use, read at most every SERVING_CACHE_SECONDS."""
    global _serving_read
    read = _serving_read
    if read is None or time.monotonic() - read[1] > SERVING_CACHE_SECONDS:
        read = _serving_read = (encoders_read().serving, time.monotonic())
    return read[0]


def serving_model_id() -> str:
    """The `model_id` of the serving encoder's vectors: during a switch a photo has faces of two encoders, and the
    pages and lists show the ones search answers from."""
    return get_spec(serving_encoder()).model_id


def serving_encoder_forget() -> None:
    """Read the serving encoder afresh next time (this process has just changed it)."""
    global _serving_read
    _serving_read = None


def get_pipeline(encoder: str | None = None) -> FacePipeline:
    """The pipeline of `encoder`, by default the serving one; each is built once per process."""
    return _pipeline(encoder or serving_encoder())


@functools.cache
def _pipeline(encoder: str) -> FacePipeline:
    return FacePipeline(
        encoder=encoder,
        detector=settings.FACESEARCH_DETECTOR,
        weights_dir=settings.FACESEARCH_WEIGHTS_DIR,
        min_face_size=settings.FACESEARCH_MIN_FACE_SIZE,
        max_side=settings.FACESEARCH_DETECTOR_MAX_SIDE or None,
    )


def spec_of_model(model_id: str) -> EncoderSpec:
    """The spec of the registered encoder whose vectors carry `model_id`: the cuts that apply to those vectors."""
    for name in ENCODERS:
        if get_spec(name).model_id == model_id:
            return get_spec(name)
    raise ValueError(f"no registered encoder makes {model_id!r} vectors")


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
    for encoder in encoders_read().names:  # a worker started during a switch of encoder encodes with both
        get_pipeline(encoder).warm_up()
    found = accelerators()
    logger.info(
        "networks loaded; running on %s, %s",
        ", ".join(found) if found else "the CPU (no GPU found)",
        f"{threads} thread(s)" if threads else "all cores",
    )
