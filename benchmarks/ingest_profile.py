"""Where a worker's batch goes: the networks (`encode_batch`) against storing the faces, and SQL statements a photo.

    .venv/bin/python benchmarks/ingest_profile.py [--n 48] [--batch-size 8]

`benchmarks/ingest.py` times ingest end to end against the bare pipeline; this looks inside the gap. It starts its own
embedded PostgreSQL+pgvector and Redis (as ingest.py does), stores `--n` LFW photos with `manage.py ingest` (no
worker: their tasks are not queued), then runs exactly what a worker task runs, `processing.photos_encode`, on them
`--batch-size` at a time in this process, timing the pipeline's share and counting every SQL statement by its first
words. Nobody is enrolled and every photo is a different person (LFW's first photo of each), as in ingest.py.
"""

from __future__ import annotations

import argparse
import atexit
import io
import shutil
import sys
import tempfile
import time
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ingest as bench  # benchmarks/ingest.py: the same stack and photos

WARM_UP = 8


def statement_kind(sql: str) -> str:
    """`SELECT photos_face`, `INSERT grouping_groupedface`, `BEGIN`...: the verb and the first table named."""
    words = sql.replace('"', "").split()
    table = next((words[i + 1] for i, word in enumerate(words[:-1]) if word in ("FROM", "INTO", "UPDATE")), "")
    return f"{words[0]} {table}".strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=48, help="photos timed (after 8 to warm up)")
    parser.add_argument("--batch-size", type=int, default=8, help="photos per photos_encode call, as a task's batch")
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="facesearch-profile-"))
    atexit.register(shutil.rmtree, base, ignore_errors=True)  # before the embedded server's handler: runs after it
    redis_process = bench.start_stack(base)
    atexit.register(redis_process.terminate)  # runs first (registered last): the embedded Redis is our child
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from facesearch.core.pipeline import get_pipeline
    from facesearch.photos import processing, tasks
    from facesearch.photos.models import Face, IngestJob
    from tests.factories import UserFactory

    tasks.photos_enqueue = lambda **kwargs: True  # no worker: this process runs the processing itself
    folder = base / "photos"
    folder.mkdir()
    for path in bench.lfw_sample(WARM_UP + args.n):
        shutil.copyfile(path, folder / path.name)
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        call_command("ingest", str(folder), "--user", UserFactory().username)
    ids = sorted(IngestJob.objects.get(path=str(folder.resolve())).items.values_list("photo_id", flat=True))
    get_pipeline().warm_up()  # as a worker process does before its first task
    processing.photos_encode(photo_ids=ids[:WARM_UP])
    ids = ids[WARM_UP:]

    pipeline = get_pipeline()
    encode_batch, in_networks = pipeline.encode_batch, [0.0]

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return encode_batch(*args, **kwargs)
        finally:
            in_networks[0] += time.perf_counter() - start

    pipeline.encode_batch = timed
    start = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        for first in range(0, len(ids), args.batch_size):
            processing.photos_encode(photo_ids=ids[first : first + args.batch_size])
    total = time.perf_counter() - start
    faces = Face.objects.filter(photo_id__in=ids).count()
    rest = total - in_networks[0]

    print(f"{len(ids)} LFW photos, {faces} faces, photos_encode {args.batch_size} at a time")
    print(f"{'total s':>10} {'networks s':>11} {'rest s':>8} {'rest ms/photo':>14} {'SQL/photo':>10}")
    print(
        f"{total:10.2f} {in_networks[0]:11.2f} {rest:8.2f} {1000 * rest / len(ids):14.1f} "
        f"{len(queries) / len(ids):10.1f}"
    )
    print("\nstatements by kind:")
    for kind, count in Counter(statement_kind(q["sql"]) for q in queries.captured_queries).most_common(15):
        print(f"{count:6d}  {kind}")


if __name__ == "__main__":
    main()
