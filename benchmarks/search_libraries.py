"""Is the product's face search fast and exact in every library of a million faces, and in identification?

    .venv/bin/python benchmarks/search_libraries.py

A million faces in 100 libraries of mixed sizes (one of 500,000, 40 of 10,000, 59 of about 1,700: the counts are
printed), 1,000 faces of the large library confirmed (a person set, assignment 'enrolled'), loaded into the product's
schema on its own embedded PostgreSQL+pgvector as `search.py` does: the same generated faces around real LFW
embeddings, binary COPY, the HNSW index built after loading, VACUUM ANALYZE before timing. A library's photos are
scattered over the table (each photo's library drawn at random, two faces a photo), the worst case for the exact
scan's heap reads.

The cases: a query in a small, a medium and the large library, in 2, 3 and 8 medium libraries at once (a caller who
reads several: candidate counts either side of EXACT_SCAN_BELOW), and identification (confirmed faces only) in the large
library. Each calls the product's `facesearch.photos.selectors.face_nearest` through Django, whole: the candidate count
that picks the scan, the scan, the rows as `Face` objects; what is timed is what ships. Queries are held-out real LFW
faces; recall@10 is against the exact answer computed with numpy over the vectors of the case's candidates.
`--other-scan` also times the scan the product did not choose (by moving EXACT_SCAN_BELOW to the other side of the
case), the evidence for where the cut belongs. The table's `load` column is the machine's 1-minute load average as each
case ended: other work on a 2-core machine shows in p99 first.

`--dir` keeps the database: a later run with the same layout and HNSW index reuses it (no load, no index build) and
only times.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from search import (
    DIM,
    FACES_PER_PHOTO,
    MODEL_ID,
    Spread,
    _copies_of_row_0,
    benchmark_database,
    build_corpus,
    copy_binary,
    describe_distances,
    lfw_embeddings,
    shipped_index,
)

# ------------------------------------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class Layout:
    """Libraries and their sizes in faces (library i + 1 has sizes[i] faces), largest first."""

    sizes: np.ndarray
    confirmed: int  # faces of the large library with a person and assignment 'enrolled'

    @classmethod
    def mixed(cls, *, faces: int, large: int, medium: int, n_medium: int, libraries: int, confirmed: int) -> Layout:
        """One large library, `n_medium` medium ones, the rest of the faces split evenly over the small ones (whole
        photos of FACES_PER_PHOTO faces each)."""
        n_small = libraries - 1 - n_medium
        small_photos = (faces - large - n_medium * medium) // FACES_PER_PHOTO
        small = np.full(n_small, small_photos // n_small)
        small[: small_photos % n_small] += 1
        sizes = np.concatenate([[large], np.full(n_medium, medium), np.sort(small * FACES_PER_PHOTO)[::-1]])
        if sizes.sum() != faces or np.any(sizes % FACES_PER_PHOTO) or np.any(sizes <= 0):
            raise ValueError(f"no layout of {faces:,} faces in whole photos with these sizes")
        return cls(sizes.astype(np.int64), confirmed)

    def describe(self) -> str:
        values, counts = np.unique(self.sizes, return_counts=True)
        parts = [f"{count} x {value:,}" for value, count in sorted(zip(values, counts, strict=True), reverse=True)]
        return f"{' + '.join(parts)} = {self.sizes.sum():,} faces in {len(self.sizes)} libraries"

    def key(self) -> dict:
        return {"sizes": self.sizes.tolist(), "confirmed": self.confirmed}


@dataclass(frozen=True)
class Loaded:
    """What is in the table, known here to compute exact answers: face id i + 1 is vectors[i]."""

    vectors: np.ndarray  # (n, 128)
    library: np.ndarray  # (n,) library id of each face
    confirmed: np.ndarray  # (n,) bool
    person_names: list[str]  # one Person per name, in the large library
    person_of: np.ndarray  # (n,) index into person_names, -1 if none
    queries: np.ndarray  # held-out real faces
    query_names: np.ndarray


def plan_load(real, spread: Spread, layout: Layout, n_queries: int, per_identity: float, seed: int = 0) -> Loaded:
    """The corpus of `search.py`, each photo's library drawn at random, and the large library's confirmed faces: the
    real LFW faces of the query people first (identification has someone to find), then other real people's."""
    n = int(layout.sizes.sum())
    corpus = build_corpus(real, spread, n, n_queries, per_identity)
    rng = np.random.default_rng(seed + 1)
    photo_library = rng.permutation(np.repeat(np.arange(1, len(layout.sizes) + 1), layout.sizes // FACES_PER_PHOTO))
    library = np.repeat(photo_library, FACES_PER_PHOTO)

    real_row = {vector.tobytes(): i for i, vector in enumerate(real.vectors)}
    names = np.array([real.names[real_row[v.tobytes()]] if v.tobytes() in real_row else "" for v in corpus.table])
    query_names = np.array([real.names[real_row[v.tobytes()]] for v in corpus.queries])
    in_large = (library == 1) & (names != "")
    wanted = set(query_names.tolist())
    first = np.flatnonzero(in_large & np.isin(names, list(wanted)))
    others = list(rng.permutation(sorted(set(names[in_large].tolist()) - wanted)))
    rows = list(first[: layout.confirmed])
    by_name: dict[str, list[int]] = {}
    for row in np.flatnonzero(in_large & ~np.isin(names, list(wanted))):
        by_name.setdefault(names[row], []).append(int(row))
    for name in others:
        if len(rows) >= layout.confirmed:
            break
        rows += by_name[name][: layout.confirmed - len(rows)]
    if len(rows) < layout.confirmed:
        raise ValueError(f"only {len(rows)} real faces in the large library to confirm")
    confirmed = np.zeros(n, bool)
    confirmed[rows] = True
    person_names = sorted(set(names[rows].tolist()))
    index = {name: i for i, name in enumerate(person_names)}
    person_of = np.full(n, -1)
    person_of[rows] = [index[name] for name in names[rows]]
    return Loaded(corpus.table, library, confirmed, person_names, person_of, corpus.queries, query_names)


# ----------------------------------------------------------------------------------------------------- postgres


def _copy_int_pairs(conn, table: str, columns: str, first: np.ndarray, second: np.ndarray) -> None:
    """COPY two bigint columns in PostgreSQL's binary format."""
    row = np.dtype([("n", ">i2"), ("l1", ">i4"), ("a", ">i8"), ("l2", ">i4"), ("b", ">i8")])
    rows = np.zeros(len(first), row)
    rows["n"], rows["l1"], rows["l2"], rows["a"], rows["b"] = 2, 8, 8, first, second
    with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.write(b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big"))
        copy.write(rows.tobytes())
        copy.write((-1).to_bytes(2, "big", signed=True))


def load(conn, layout: Layout, loaded: Loaded, log) -> None:
    """Empty the product's tables and fill them: libraries, photos (FACES_PER_PHOTO faces each, unique sha256), faces
    with their library, people for the confirmed faces. One photo and one face saved through the ORM are copied
    server-side into every row, so each column is filled as the product fills it; the vectors come in by binary COPY."""
    from facesearch.libraries.models import Library
    from facesearch.people.models import Person
    from facesearch.photos.models import Face, Photo

    faces, photos = Face._meta.db_table, Photo._meta.db_table
    started = time.perf_counter()
    conn.execute(f"TRUNCATE {faces}, {photos}, {Person._meta.db_table}, {Library._meta.db_table} CASCADE")
    Library.objects.bulk_create(
        Library(id=i + 1, name=f"bench {i + 1} ({size:,} faces)") for i, size in enumerate(layout.sizes)
    )
    photo = Photo.objects.create(
        id=0, library_id=1, file="benchmark.jpg", sha256="0" * 64, size=1, status=Photo.Status.DONE, model_id=MODEL_ID
    )
    Face.objects.create(
        id=0, photo=photo, library_id=1, index=0, box=[0, 0, 100, 100], landmarks=[[0, 0]] * 5, score=0.99,
        box_size=100.0, sharpness=100.0, yaw=0.0, pitch=0.0, roll=0.0, crop=b"", model_id=MODEL_ID,
        embedding=loaded.vectors[0],
    )  # fmt: skip
    photo_library = loaded.library[::FACES_PER_PHOTO]
    conn.execute("CREATE TEMPORARY TABLE photo_library (id bigint, library_id bigint)")
    _copy_int_pairs(conn, "photo_library", "id, library_id", np.arange(1, len(photo_library) + 1), photo_library)
    photo_values = {"id": "p.id", "library_id": "p.library_id", "sha256": "lpad(to_hex(p.id), 64, '0')"}
    conn.execute(_copies_of_row_0(Photo, photo_values, "photo_library p"))
    conn.execute(f"CREATE TEMPORARY TABLE vectors (id bigint, model_id text, embedding vector({DIM}))")
    copy_binary(conn, "vectors", loaded.vectors)
    face_values = {
        "id": "v.id",
        "photo_id": "p.id",
        "library_id": "p.library_id",
        "index": f"(v.id - 1) % {FACES_PER_PHOTO}",
        "embedding": "v.embedding",
    }
    source = f"vectors v JOIN photo_library p ON p.id = (v.id - 1) / {FACES_PER_PHOTO} + 1"
    conn.execute(_copies_of_row_0(Face, face_values, source))
    log(f"loaded {len(loaded.vectors):,} faces in {len(photo_library):,} photos: {time.perf_counter() - started:.1f} s")

    people = Person.objects.bulk_create(Person(library_id=1, name=name) for name in loaded.person_names)
    rows = np.flatnonzero(loaded.confirmed)
    person_ids = np.array([people[i].id for i in loaded.person_of[rows]])
    conn.execute("CREATE TEMPORARY TABLE confirmed (face_id bigint, person_id bigint)")
    _copy_int_pairs(conn, "confirmed", "face_id, person_id", rows + 1, person_ids)
    conn.execute(
        f"UPDATE {faces} f SET person_id = c.person_id, assignment = %s FROM confirmed c WHERE f.id = c.face_id",
        [Face.Assignment.ENROLLED],
    )
    for table in ("photo_library", "vectors", "confirmed"):
        conn.execute(f"DROP TABLE {table}")
    conn.execute(f"DELETE FROM {faces} WHERE id = 0")
    conn.execute(f"DELETE FROM {photos} WHERE id = 0")
    log(f"{len(rows):,} confirmed faces of {len(people):,} people in library 1")


def hnsw_ddl() -> str:
    """The DDL of the HNSW index `Face.Meta.indexes` declares, as the migration runs it."""
    from django.db import connection

    from facesearch.photos.models import Face

    with connection.schema_editor(collect_sql=True, atomic=False) as editor:
        return str(shipped_index().create_sql(Face, editor))


def build_hnsw(conn, log) -> None:
    """The product's HNSW index, built on the loaded table."""
    name = shipped_index().name
    started = time.perf_counter()
    conn.execute(hnsw_ddl())
    size = conn.execute("SELECT pg_relation_size(%s::regclass)", [name]).fetchone()[0]
    log(f"built {name} in {time.perf_counter() - started:.1f} s, {size / 2**20:.0f} MB")


def prepare(conn, directory: Path, layout: Layout, loaded: Loaded, log) -> None:
    """Load and index, unless `directory` already holds this layout and index (marker written once all is done)."""
    from facesearch.photos.models import Face

    marker = directory / "search_libraries.json"
    key = {**layout.key(), "faces_checksum": float(loaded.vectors[::9973].sum()), "hnsw": hnsw_ddl()}
    if marker.exists() and json.loads(marker.read_text()) == key:
        log(f"reusing the database in {directory}")
        return
    marker.unlink(missing_ok=True)
    conn.execute(f'DROP INDEX IF EXISTS "{shipped_index().name}"')  # built on the loaded table below, as at scale
    load(conn, layout, loaded, log)
    build_hnsw(conn, log)
    started = time.perf_counter()
    conn.execute(f"VACUUM ANALYZE {Face._meta.db_table}")
    conn.execute("VACUUM ANALYZE")
    log(f"VACUUM ANALYZE {time.perf_counter() - started:.1f} s")
    marker.write_text(json.dumps(key))


# ------------------------------------------------------------------------------------------------------- timing


@dataclass(frozen=True)
class Case:
    name: str
    library_ids: list[int]
    confirmed_only: bool = False


@dataclass
class Row:
    case: str
    libraries: str
    candidates: int
    scan: str
    p50: float
    p99: float
    recall: float
    load: float  # 1-minute load average as the case's timing ended: other work on the machine inflates p99

    def line(self) -> str:
        return (
            f"| {self.case:<26} | {self.libraries:<9} | {self.candidates:>10,} | {self.scan:<6} "
            f"| {self.p50:>7.2f} | {self.p99:>7.2f} | {self.recall:>9.4f} | {self.load:>4.1f} |"
        )


HEADER = (
    "| case                       | libraries | candidates | scan   |  p50 ms |  p99 ms | recall@10 | load |\n"
    "|----------------------------|-----------|-----------:|--------|--------:|--------:|----------:|-----:|"
)
FOOTNOTE = (
    "scan: the one the product chose; * the other one, timed with EXACT_SCAN_BELOW moved to the other side of the case "
    "(first {n} queries). load: 1-minute load average when the case's timing ended."
)


def exact_top(loaded: Loaded, case: Case, queries: np.ndarray, k: int = 10) -> list[list[int]]:
    """Face ids of the k nearest faces among the case's candidates, by numpy."""
    keep = np.isin(loaded.library, case.library_ids)
    if case.confirmed_only:
        keep &= loaded.confirmed
    rows = np.flatnonzero(keep)
    vectors = loaded.vectors[rows]
    answers = []
    for query in queries:
        distances = np.linalg.norm(vectors - query, axis=1)
        top = np.argpartition(distances, k)[:k] if len(rows) > k else np.arange(len(rows))
        answers.append((rows[top] + 1).tolist())
    return answers


def scan_of(case: Case, query: np.ndarray) -> tuple[str, str]:
    """Which scan the product runs for this case, from the plan of its own query."""
    from facesearch.photos.selectors import face_nearest_plan

    plan = face_nearest_plan(
        embedding=query, model_id=MODEL_ID, library_ids=case.library_ids, confirmed_only=case.confirmed_only
    )
    walks = plan.count("face_embedding_hnsw_l2")
    if walks > 1:
        raise RuntimeError(f"the plan walks the HNSW graph {walks} times:\n{plan}")
    return ("hnsw" if walks else "exact"), plan


def time_case(case: Case, queries: np.ndarray, exact: list[list[int]], *, warm: int = 20) -> tuple[np.ndarray, float]:
    from facesearch.photos.selectors import face_nearest

    def call(query: np.ndarray) -> list[int]:
        faces = face_nearest(
            embedding=query, model_id=MODEL_ID, library_ids=case.library_ids, limit=10,
            confirmed_only=case.confirmed_only,
        )  # fmt: skip
        return [face.id for face in faces]

    for query in queries[:warm]:
        call(query)
    times, recalls = [], []
    for query, truth in zip(queries, exact, strict=True):
        started = time.perf_counter()
        found = call(query)
        times.append(time.perf_counter() - started)
        recalls.append(len(set(found) & set(truth)) / len(truth))
    return np.array(times) * 1000, float(np.mean(recalls))


def load_average() -> float:
    return os.getloadavg()[0]


@contextlib.contextmanager
def cut_at(value: int):
    """EXACT_SCAN_BELOW moved for the duration: the scan the product would run with another cut."""
    from facesearch.photos import selectors

    shipped = selectors.EXACT_SCAN_BELOW
    selectors.EXACT_SCAN_BELOW = value
    try:
        yield
    finally:
        selectors.EXACT_SCAN_BELOW = shipped


def run_cases(cases: list[Case], loaded: Loaded, args: argparse.Namespace, log) -> list[Row]:
    from facesearch.photos.models import Face
    from facesearch.photos.selectors import EXACT_SCAN_BELOW, face_nearest_candidates

    rows = []
    for case in cases:
        candidates = face_nearest_candidates(
            model_id=MODEL_ID, library_ids=case.library_ids, confirmed_only=case.confirmed_only
        ).count()
        truth = exact_top(loaded, case, loaded.queries)
        scan, plan = scan_of(case, loaded.queries[0])
        log(f"{case.name}: {candidates:,} candidates, plan:\n{plan}")
        ms, recall = time_case(case, loaded.queries, truth)
        ids = case.library_ids
        libraries = ",".join(map(str, ids)) if len(ids) <= 2 else f"{ids[0]}-{ids[-1]}"
        rows.append(Row(case.name, libraries, candidates, scan, *np.percentile(ms, [50, 99]), recall, load_average()))
        log(rows[-1].line())
        if args.other_scan:
            # The other side of the cut: HNSW with no count (cut 0), or exact after a full count (cut above it).
            other = "exact" if scan == "hnsw" else "hnsw"
            with cut_at(candidates + 1 if other == "exact" else 0):
                if scan_of(case, loaded.queries[0])[0] != other:
                    log(f"{case.name}: the planner chooses {scan} on both sides of the cut (its cost estimate)")
                    continue
                n = args.other_queries
                ms, recall = time_case(case, loaded.queries[:n], truth[:n], warm=5)
            p50, p99 = np.percentile(ms, [50, 99])
            rows.append(Row(case.name, libraries, candidates, f"{other}*", p50, p99, recall, load_average()))
            log(rows[-1].line())
    log(f"EXACT_SCAN_BELOW = {EXACT_SCAN_BELOW:,}; faces in table: {Face.objects.count():,}")
    return rows


def log_sizes(conn, log) -> None:
    """Disk per face of the face table and each of its indexes (the README's sizing figures)."""
    faces = conn.execute("SELECT count(*) FROM photos_face").fetchone()[0]
    rows = conn.execute(
        "SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid "
        "WHERE i.indrelid = 'photos_face'::regclass UNION ALL "
        "SELECT 'photos_face (table)', pg_relation_size('photos_face') ORDER BY 2 DESC"
    ).fetchall()
    for name, size in rows:
        log(f"{name:<40} {size / 2**20:>8.0f} MB {size / faces:>7.0f} bytes/face")


def default_cases(layout: Layout) -> list[Case]:
    sizes = layout.sizes
    medium = [int(i) + 1 for i in np.flatnonzero(sizes == sizes[1])]
    small = int(np.flatnonzero(sizes < sizes[1])[0]) + 1
    return [
        Case(f"small ({sizes[small - 1]:,})", [small]),
        Case(f"medium ({sizes[1]:,})", medium[:1]),
        Case(f"2 medium ({2 * sizes[1]:,})", medium[:2]),
        Case(f"3 medium ({3 * sizes[1]:,})", medium[:3]),
        Case(f"4 medium ({4 * sizes[1]:,})", medium[:4]),
        Case(f"5 medium ({5 * sizes[1]:,})", medium[:5]),
        Case(f"6 medium ({6 * sizes[1]:,})", medium[:6]),
        Case(f"8 medium ({8 * sizes[1]:,})", medium[:8]),
        Case(f"large ({sizes[0]:,})", [1]),
        Case(f"identify in large ({layout.confirmed:,})", [1], confirmed_only=True),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", type=int, default=1_000_000)
    parser.add_argument("--libraries", type=int, default=100)
    parser.add_argument("--large", type=int, default=500_000, help="faces of library 1")
    parser.add_argument("--medium", type=int, default=10_000, help="faces of each medium library")
    parser.add_argument("--n-medium", type=int, default=40)
    parser.add_argument("--confirmed", type=int, default=1_000, help="enrolled faces in the large library")
    parser.add_argument("--queries", type=int, default=500, help="held-out real faces timed per case")
    parser.add_argument("--other-scan", action="store_true", help="also time the scan the product did not choose")
    parser.add_argument("--other-queries", type=int, default=100, help="queries for the scan not chosen")
    parser.add_argument("--faces-per-identity", type=float, default=20.0)
    parser.add_argument("--shared-buffers", default="4GB")
    parser.add_argument("--dir", type=Path, help="database directory, kept and reused (default: a temporary one)")
    args = parser.parse_args()

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    layout = Layout.mixed(
        faces=args.faces, large=args.large, medium=args.medium, n_medium=args.n_medium, libraries=args.libraries,
        confirmed=args.confirmed,
    )  # fmt: skip
    real = lfw_embeddings()
    spread = Spread.fit(real)
    log(describe_distances(real, spread))
    loaded = plan_load(real, spread, layout, args.queries, args.faces_per_identity)
    log(f"layout: {layout.describe()}")
    identified = np.isin(loaded.query_names, loaded.person_names).mean()
    log(f"{len(loaded.queries)} queries, {identified:.0%} of them of a person with confirmed faces")

    with benchmark_database(args.dir, prefix="bench-libraries-", shared_buffers=args.shared_buffers, log=log) as (
        conn,
        directory,
    ):
        prepare(conn, directory, layout, loaded, log)
        for relation in (
            "photos_face",
            "photos_photo",
            "face_embedding_hnsw_l2",
            "face_library_model",
            "face_library_vectors",
        ):
            conn.execute("SELECT pg_prewarm(%s::regclass)", [relation])
        log_sizes(conn, log)
        log(f"load average before timing: {load_average():.2f}")
        rows = run_cases(default_cases(layout), loaded, args, log)
        log(f"load average after timing: {load_average():.2f}")
        out = io.StringIO()
        print(f"{layout.describe()}; {loaded.confirmed.sum():,} confirmed in library 1", file=out)
        print(HEADER, file=out)
        for row in rows:
            print(row.line(), file=out)
        if args.other_scan:
            print(FOOTNOTE.format(n=args.other_queries), file=out)
        print(out.getvalue())


if __name__ == "__main__":
    main()
