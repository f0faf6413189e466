"""Photo files on disk under MEDIA_ROOT: written atomically and durably, removed without leaving empty folders.

Paths are content-addressed (`photos/ab/cd/<sha256>.<ext>`), so a file that exists is the complete file for its
name: it is written to a temporary name, fsynced and renamed into place.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage

PHOTOS_DIR = "photos"


def photo_file_path(name: str) -> Path:
    """The local path of a stored photo file; photos live on the local file system (FileSystemStorage)."""
    return Path(default_storage.path(name))


def photo_file_write(*, name: str, file: File) -> bool:
    """Store `file` at `name` unless it is already there; True when this call wrote it."""
    path = photo_file_path(name)
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as out:
            file.seek(0)
            for chunk in file.chunks():
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    finally:
        file.seek(0)
    _fsync_directory(path.parent)
    return True


def photo_file_delete(*, name: str) -> None:
    """Remove the file and every folder under photos/ that it leaves empty."""
    path = photo_file_path(name)
    path.unlink(missing_ok=True)
    root = photo_file_path(PHOTOS_DIR)
    folder = path.parent
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()  # only succeeds when empty
        except OSError:
            break
        folder = folder.parent


def _fsync_directory(path: Path) -> None:
    """Make the rename itself durable (POSIX: the directory entry lives in the parent's data)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
