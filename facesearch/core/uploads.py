"""Upload handlers that keep at most FACESEARCH_MAX_UPLOAD_BYTES (+1 byte) of each file, whatever size is sent.

Django's own handlers store a whole file (in memory, or in a temporary file past FILE_UPLOAD_MAX_MEMORY_SIZE) before a
view can look at its size, and DATA_UPLOAD_MAX_MEMORY_SIZE does not apply to files: two 40 MiB files were written to
disk before `check_upload_size` refused them. These handlers count every byte of a file but keep only the limit + 1,
and report the size sent as the file's size, so `check_upload_size` still refuses it as larger than the limit. The
number of files is Django's DATA_UPLOAD_MAX_NUMBER_FILES (FACESEARCH_MAX_UPLOAD_FILES), checked before any handler.
"""

from __future__ import annotations

from io import BytesIO

from django.conf import settings
from django.core.files.uploadedfile import InMemoryUploadedFile, TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile


class CappedUploadHandler(FileUploadHandler):
    """Keeps the first limit + 1 bytes of each file of `fields` (at most `max_files` of them), drops other files.

    Subclasses say where the bytes go (`open_file`). It must be the only handler: it passes no chunk on.
    """

    fields: frozenset[str]
    max_files: int | None = None  # beyond DATA_UPLOAD_MAX_NUMBER_FILES, which Django checks for every request
    files = 0

    def new_file(self, field_name: str, *args, **kwargs) -> None:
        if field_name not in self.fields or (self.max_files is not None and self.files >= self.max_files):
            raise SkipFile()
        self.files += 1
        super().new_file(field_name, *args, **kwargs)
        self.file = self.open_file()  # `file`: the name Django's parser closes on errors

    def open_file(self) -> UploadedFile:
        raise NotImplementedError

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        keep = settings.FACESEARCH_MAX_UPLOAD_BYTES + 1 - start  # `start`: this chunk's offset in the file
        if keep > 0:
            self.file.write(raw_data[:keep])

    def file_complete(self, file_size: int) -> UploadedFile:
        self.file.seek(0)
        self.file.size = file_size  # the size sent, so an oversized file is refused as such
        return self.file

    def upload_interrupted(self) -> None:
        if hasattr(self, "file"):
            self.file.close()  # a temporary file is deleted when closed


class QueryImageUploadHandler(CappedUploadHandler):
    """Query images stay in memory, never on disk: an image sent only to be searched for is not stored anywhere."""

    fields = frozenset({"file", "file_a", "file_b"})
    max_files = 2  # a verification's two images; more would only hold memory

    def open_file(self) -> UploadedFile:
        return InMemoryUploadedFile(
            BytesIO(), self.field_name, self.file_name, self.content_type, 0, self.charset, self.content_type_extra
        )


class PhotoUploadHandler(CappedUploadHandler):
    """Photos to store: each in a temporary file (FILE_UPLOAD_TEMP_DIR), deleted when the request ends."""

    fields = frozenset({"file", "files"})

    def open_file(self) -> UploadedFile:
        return TemporaryUploadedFile(self.file_name, self.content_type, 0, self.charset, self.content_type_extra)
