"""Photo files on disk under MEDIA_ROOT: written atomically and durably, removed without leaving empty folders.

Paths are content-addressed (`photos/ab/cd/<sha256>.<ext>`), so a file that exists is the complete file for its
name: it is written to a temporary name, fsynced and renamed into place. Cached thumbnails are named after the same
sha256 (`thumbs/ab/cd/<sha256>-<size>.jpg`), so deleting the photo's file finds and deletes them too.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath

from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

PHOTOS_DIR = "photos"
THUMBS_DIR = "thumbs"


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
    """Remove the photo's file, its cached thumbnails, and every folder under photos/ and thumbs/ they leave empty."""
    media_file_delete(name=name)
    _thumbnails_delete(photo_name=name)  # after the file: see thumbnail_file_write


def media_file_delete(*, name: str) -> None:
    """Remove this one file under photos/ or thumbs/ and the folders it leaves empty (not the photo's thumbnails)."""
    path = photo_file_path(name)
    path.unlink(missing_ok=True)
    _remove_empty_folders(path.parent, root=photo_file_path(PurePosixPath(name).parts[0]))


def thumbnail_file_name(*, photo_name: str, size: int) -> str:
    """Where the thumbnail of at most `size` pixels a side of the photo stored at `photo_name` is cached."""
    sha256 = media_sha256(photo_name)
    return f"{THUMBS_DIR}/{sha256[:2]}/{sha256[2:4]}/{sha256}-{size}.jpg"


def thumbnail_file_write(*, photo_name: str, size: int, data: bytes) -> None:
    """Cache a thumbnail of the photo stored at `photo_name` (atomically, like the photo), unless the photo is gone.

    A request may render a thumbnail while the photo is being deleted. The delete removes the photo's file and then
    its thumbnails; this writes the thumbnail and then checks the file. Either the delete's look for thumbnails comes
    after this write and finds it, or this check comes after the file's removal and removes the thumbnail itself.
    """
    photo_file_write(name=thumbnail_file_name(photo_name=photo_name, size=size), file=ContentFile(data))
    if not photo_file_path(photo_name).exists():
        _thumbnails_delete(photo_name=photo_name)


def media_sha256(name: str) -> str:
    """The sha256 a stored file is named after: `photos/ab/cd/<sha256>.<ext>` or `thumbs/ab/cd/<sha256>-<size>.jpg`."""
    return PurePosixPath(name).name.partition(".")[0].partition("-")[0]


def thumbnail_files(*, photo_name: str) -> list[Path]:
    """The cached thumbnails of the photo stored at `photo_name`, every size."""
    folder = photo_file_path(thumbnail_file_name(photo_name=photo_name, size=0)).parent
    return list(folder.glob(f"{media_sha256(photo_name)}-*.jpg"))


def _thumbnails_delete(*, photo_name: str) -> None:
    folder = photo_file_path(thumbnail_file_name(photo_name=photo_name, size=0)).parent
    for path in thumbnail_files(photo_name=photo_name):
        path.unlink(missing_ok=True)
    _remove_empty_folders(folder, root=photo_file_path(THUMBS_DIR))


def _remove_empty_folders(folder: Path, *, root: Path) -> None:
    """Remove `folder` and its parents up to (not including) `root`, as long as they are empty."""
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
