"""The audit log of identity operations: one function writes it, every search, identification, verification and
change of who is who calls it (failed ones included)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from facesearch.core.errors import ApplicationError
from facesearch.core.metrics import search_observed
from facesearch.libraries.access import Caller
from facesearch.libraries.models import AuditEntry


def audit_record(
    *,
    caller: Caller | None,
    kind: str,
    library_ids: Iterable[int],
    result_count: int = 0,
    best_distance: float | None = None,
    succeeded: bool = True,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    caller = caller or Caller(user=None)
    return AuditEntry.objects.create(
        user=caller.user,
        username=caller.name,
        api_key=caller.key,
        api_key_name=caller.key.name if caller.key else "",
        library_ids=sorted(set(library_ids)),
        kind=kind,
        result_count=result_count,
        best_distance=None if best_distance is None else round(float(best_distance), 4),
        succeeded=succeeded,
        detail=detail or {},
    )


@dataclass
class Audited:
    """What an operation fills in as it goes; written once, when it ends (`audited`)."""

    library_ids: list[int] = field(default_factory=list)
    result_count: int = 0
    best_distance: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def audited(*, caller: Caller | None, kind: str, detail: dict[str, Any] | None = None) -> Iterator[Audited]:
    """Record the operation in its block: with its results when it succeeds, and as a failed entry with the error's
    status and message when it raises an ApplicationError. The block opens no transaction of its own, so a search
    holds none while its networks run."""
    record = Audited(detail=dict(detail or {}))
    started = time.monotonic()
    try:
        yield record
    except ApplicationError as exc:
        audit_record(
            caller=caller, kind=kind, library_ids=record.library_ids, succeeded=False,
            detail={**record.detail, "error": {"status": exc.status, "message": exc.message}},
        )  # fmt: skip
        raise
    audit_record(
        caller=caller, kind=kind, library_ids=record.library_ids, result_count=record.result_count,
        best_distance=record.best_distance, detail=record.detail,
    )  # fmt: skip
    search_observed(kind=kind, seconds=time.monotonic() - started, results=record.result_count)
