"""How many faces per second does ingest store end to end (upload → faces in PostgreSQL)? Prints one table.

    .venv/bin/python benchmarks/ingest.py --n 48 --workers 1 2 4

It starts its own embedded PostgreSQL+pgvector and Redis (`facesearch.stack`) in a temporary directory, migrates,
starts a real Celery worker (`--workers` pool processes, each loading the networks once, as `CELERY_CONCURRENCY`
does, each with cores / N TensorFlow threads: `FACESEARCH_TF_THREADS`) and waits until every pool process has loaded
them. Then, for each mode, on its own `--n` LFW photos (one per
person, different photos for each mode so the same bytes are never skipped), it times from the first file sent to the
last photo processed:

- `api file`: one `POST /api/photos/` per file (the REST view in process, token auth), one `photo_process` task each;
- `api files`: 8 files per `POST /api/photos/` as the web UI sends them: one upload job, queued 8 photos per task;
- `folder bN`: `manage.py ingest FOLDER --batch-size N`: the folder CLI, one `photos_process` task per N photos.

Every task tops its photos up to 8 with photos waiting for their own task (`processing.photos_claim_and_encode`), so
one photo per task (`api file`, `folder b1`) should be encoded in batches as well: compare them with `folder b8`.

faces/s = faces stored / wall time; `upload s` is the part spent storing files and queueing tasks (the worker is
already busy meanwhile). Photos are LFW's 250x250 images, about one face each.

The yardstick, in the same run on the folder modes' photos: the bare pipeline in this process (`FacePipeline
.encode_batch` on the files: read, detect, align, encode; nothing stored) at `PIPELINE_BATCHES`, as
`benchmarks/pipeline.py` times it. The last lines give each folder mode's photos/s as a share of the pipeline's best.
"""

from __future__ import annotations

import argparse
import atexit
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LFW_IMAGES = ROOT.parent / "shared" / "data" / "lfw" / "images"
WARM_UP_PHOTOS = 8
API_REQUEST_SIZES = (1, 8)  # files per POST /api/photos/: one `file`, or several `files` as the web UI sends
PIPELINE_BATCHES = (8, 32)  # the bare pipeline's batch sizes: 32 is benchmarks/pipeline.py's best on LFW


@dataclass(frozen=True)
class Result:
    mode: str
    concurrency: int
    photos: int
    faces: int
    upload_s: float
    total_s: float
    paths: tuple[Path, ...] = ()  # the files (folder modes: the pipeline yardstick runs on them again)

    @property
    def faces_per_s(self) -> float:
        return self.faces / self.total_s

    @property
    def photos_per_s(self) -> float:
        return self.photos / self.total_s


def lfw_sample(count: int) -> list[Path]:
    """The first photo of each person, in name order: different people, each file different bytes."""
    people = sorted(p for p in LFW_IMAGES.iterdir() if p.is_dir())
    return [sorted(person.iterdir())[0] for person in people[:count]]


def start_stack(base: Path) -> subprocess.Popen:
    from facesearch import stack

    redis_process, redis_url = stack.start_redis(base / "redis")
    os.environ.update(
        {
            "DATABASE_URL": stack.start_postgres(base / "postgres", cleanup_mode="delete"),
            "REDIS_URL": redis_url,
            "FACESEARCH_DATA_DIR": str(base / "data"),
            "FACESEARCH_WEIGHTS_DIR": os.environ.get("FACESEARCH_WEIGHTS_DIR", str(ROOT / "var" / "models")),
            "SECRET_KEY": "benchmark-only",
            "DJANGO_SETTINGS_MODULE": "facesearch.settings",
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return redis_process


def run_pipeline(paths: list[Path], batch_size: int) -> Result:
    """The yardstick: read, detect, align and encode the files in this process, `batch_size` at a time."""
    from facesearch.core.pipeline import get_pipeline

    pipeline = get_pipeline()
    start = time.perf_counter()
    faces = 0
    for first in range(0, len(paths), batch_size):
        faces += sum(map(len, pipeline.encode_batch(paths[first : first + batch_size])))
    return Result(f"pipeline b{batch_size} (no storage)", 0, len(paths), faces, 0.0, time.perf_counter() - start)


def storage() -> str:
    """What the stored photos cost on disk: their files, and the aligned crop each face keeps in its row."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), avg(size) FROM photos_photo")
        photos, photo_bytes = cursor.fetchone()
        cursor.execute("SELECT count(*), avg(octet_length(crop)) FROM photos_face")
        faces, crop_bytes = cursor.fetchone()
    return (
        f"stored: {photos} photos, {photo_bytes / 1024:.1f} KB a photo file; "
        f"{faces} faces, {crop_bytes / 1024:.1f} KB a face crop (in the face's row)"
    )


def start_worker(concurrency: int) -> subprocess.Popen:
    from facesearch.celery import app, ping

    # Each of N processes gets cores / N TensorFlow threads, as the README's sizing guide says to configure them.
    threads = max(1, (os.cpu_count() or 1) // concurrency) if concurrency > 1 else 0
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "facesearch", "worker", "--concurrency", str(concurrency),
         "--loglevel", "WARNING", "--hostname", f"bench-{os.getpid()}@%h", "--without-mingle", "--without-gossip"],
        cwd=ROOT, start_new_session=True, env={**os.environ, "FACESEARCH_TF_THREADS": str(threads)},
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while not app.control.ping(timeout=0.5):
        if worker.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the Celery worker did not start")
    # A task runs only in a pool process that has loaded the model (worker_process_init): one ping per process.
    for result in [ping.delay() for _ in range(concurrency * 2)]:
        result.get(timeout=600)
    return worker


def wait_processed(photo_ids: list[int], timeout: float = 3600) -> None:
    from facesearch.photos.models import Photo

    deadline = time.monotonic() + timeout
    while Photo.objects.filter(id__in=photo_ids, status__in=["pending", "processing"]).exists():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the worker")
        time.sleep(0.05)


def faces_of(photo_ids: list[int]) -> int:
    from facesearch.photos.models import Face, Photo

    failed = Photo.objects.filter(id__in=photo_ids, status="failed").count()
    if failed:
        print(f"warning: {failed} photos failed", file=sys.stderr)
    return Face.objects.filter(photo_id__in=photo_ids).count()


def run_api(paths: list[Path], concurrency: int, per_request: int) -> Result:
    """`POST /api/photos/`: one `file` per request (one task each), or several `files` as the web UI sends them."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from rest_framework.test import APIClient

    from tests.factories import TokenFactory

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {TokenFactory().key}")
    contents = [(path.name, path.read_bytes()) for path in paths]
    start = time.perf_counter()
    ids = []
    for first in range(0, len(contents), per_request):
        files = [SimpleUploadedFile(name, content) for name, content in contents[first : first + per_request]]
        data = {"file": files[0]} if per_request == 1 else {"files": files}
        response = client.post("/api/photos/", data, format="multipart")
        assert response.status_code == 201, response.content
        body = response.json()
        ids += [body["id"]] if per_request == 1 else [result["photo"]["id"] for result in body["results"]]
    uploaded = time.perf_counter()
    wait_processed(ids)
    end = time.perf_counter()
    mode = "api file (1 photo/task)" if per_request == 1 else f"api files ({per_request}/request)"
    return Result(mode, concurrency, len(ids), faces_of(ids), uploaded - start, end - start)


def run_folder(paths: list[Path], concurrency: int, batch_size: int, work: Path, username: str) -> Result:
    from django.core.management import call_command

    from facesearch.photos.models import IngestJob

    folder = work / f"folder-b{batch_size}"
    folder.mkdir(parents=True)
    for path in paths:
        shutil.copyfile(path, folder / path.name)
    start = time.perf_counter()
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        call_command("ingest", str(folder), "--batch-size", str(batch_size), "--user", username)
    uploaded = time.perf_counter()
    job = IngestJob.objects.get(path=str(folder.resolve()))
    ids = list(job.items.values_list("photo_id", flat=True))
    wait_processed(ids)
    end = time.perf_counter()
    mode = f"folder b{batch_size} ({batch_size} photo{'s' if batch_size > 1 else ''}/task)"
    return Result(mode, concurrency, len(ids), faces_of(ids), uploaded - start, end - start, tuple(paths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=48, help="photos per mode")
    parser.add_argument("--workers", type=int, nargs="+", default=[1], help="worker processes to compare")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8], help="folder modes' photos per task")
    parser.add_argument("--folder-only", action="store_true", help="leave out the API modes (the ratio's modes only)")
    args = parser.parse_args()

    request_sizes = () if args.folder_only else API_REQUEST_SIZES
    modes = len(request_sizes) + len(args.batch_sizes)
    sample = lfw_sample(WARM_UP_PHOTOS + args.n * modes * len(args.workers))
    base = Path(tempfile.mkdtemp(prefix="facesearch-bench-"))
    # Registered before the embedded PostgreSQL registers its own exit handler, so it runs after that one has stopped
    # the server: deleting its data directory first leaves the server running.
    atexit.register(shutil.rmtree, base, ignore_errors=True)
    redis_process = start_stack(base)
    from tests.factories import UserFactory

    username = UserFactory().username  # the folder modes' uploader: their photos go to the user's personal library
    results: list[Result] = []
    try:
        offset = 0
        for concurrency in args.workers:
            worker = start_worker(concurrency)
            try:
                if offset == 0:  # first encodes trace the networks' graphs: keep them out of the timings
                    run_folder(sample[:WARM_UP_PHOTOS], concurrency, max(args.batch_sizes), base / "warm", username)
                    offset = WARM_UP_PHOTOS
                for per_request in request_sizes:
                    results.append(run_api(sample[offset : offset + args.n], concurrency, per_request))
                    offset += args.n
                for batch_size in args.batch_sizes:
                    paths = sample[offset : offset + args.n]
                    results.append(run_folder(paths, concurrency, batch_size, base / f"c{concurrency}", username))
                    offset += args.n
            finally:
                os.killpg(worker.pid, 15)
                worker.wait(timeout=120)

        # The folder modes' photos once more, through the bare pipeline: a first untimed pass per batch size traces
        # the networks for the batch shapes it meets (the worker met them in its own warm-up and earlier tasks).
        folder_photos = [p for r in results if r.mode.startswith("folder") for p in r.paths]
        for batch_size in PIPELINE_BATCHES:
            run_pipeline(folder_photos, batch_size)
        yardsticks = [run_pipeline(folder_photos, batch_size) for batch_size in PIPELINE_BATCHES]
        stored = storage()
    finally:
        redis_process.terminate()
        redis_process.wait(timeout=10)

    print(f"\ningest end to end (upload -> faces stored), {os.cpu_count()} CPUs, LFW 250x250 photos")
    print(f"{'mode':<28} {'workers':>7} {'photos':>6} {'faces':>6} {'upload s':>9} {'total s':>8} "
          f"{'photos/s':>9} {'faces/s':>8}")  # fmt: skip
    for r in [*results, *yardsticks]:
        print(f"{r.mode:<28} {r.concurrency or '-':>7} {r.photos:>6} {r.faces:>6} {r.upload_s:>9.2f} "
              f"{r.total_s:>8.2f} {r.photos_per_s:>9.2f} {r.faces_per_s:>8.2f}")  # fmt: skip
    print(stored)
    best = max(yardsticks, key=lambda r: r.photos_per_s)
    print(f"\nfolder ingest as a share of the bare pipeline's best ({best.mode}: {best.photos_per_s:.2f} photos/s):")
    for r in results:
        if r.mode.startswith("folder"):
            print(f"  {r.mode:<28} {r.concurrency} worker(s): {r.photos_per_s / best.photos_per_s:6.1%}")


if __name__ == "__main__":
    main()
