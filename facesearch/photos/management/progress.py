"""Job progress in the terminal, shared by the `ingest` and `reprocess` commands."""

from __future__ import annotations

import time
from typing import TextIO

from tqdm import tqdm

from facesearch.libraries.access import OPERATOR
from facesearch.photos import selectors
from facesearch.photos.models import Face, IngestItem, IngestJob

POLL_SECONDS = 0.5


def job_follow(*, job: IngestJob, poll: float = POLL_SECONDS, timeout: float | None = None) -> bool:
    """Show a progress bar until the job is done; False when stopped first (Ctrl-C or `timeout`); the job goes on."""
    progress = selectors.job_progress(caller=OPERATOR, job_id=job.id)
    deadline = None if timeout is None else time.monotonic() + timeout
    with tqdm(total=progress.total, initial=progress.finished, unit="photo", desc="processing", disable=None) as bar:
        try:
            while True:
                progress = selectors.job_progress(caller=OPERATOR, job_id=job.id, failures_limit=0)
                bar.total = progress.total
                bar.update(progress.finished - bar.n)
                bar.set_postfix(done=progress.done, failed=progress.failed, refresh=False)
                if progress.job.state == IngestJob.State.DONE:
                    return True
                if deadline is not None and time.monotonic() > deadline:
                    return False
                time.sleep(poll)
        except KeyboardInterrupt:
            return False


def job_summary(*, job: IngestJob, out: TextIO) -> None:
    """New, skipped and failed files with the reasons, and the faces found so far."""
    progress = selectors.job_progress(caller=OPERATOR, job_id=job.id)
    refused = sum(1 for item in progress.failures if item.photo_id is None)
    new = progress.total - progress.skipped - refused
    faces = Face.objects.filter(photo__ingest_items__job=job, photo__ingest_items__state=IngestItem.State.DONE).count()
    where = f" {job.path}" if job.path else ""
    out.write(f"job {job.id} ({job.source}{where}): {progress.job.state}\n")
    out.write(f"  new:      {new} ({progress.done} processed, {progress.pending} waiting for a worker)\n")
    out.write(f"  skipped:  {progress.skipped} (same bytes already stored)\n")
    out.write(f"  failed:   {progress.failed}\n")
    for item in progress.failures:
        out.write(f"    {item.name}: {item.error}\n")
    out.write(f"  faces:    {faces} in the processed photos\n")
