"""Query images stay in memory: an upload handler that never spills to a temporary file, whatever the size.

Django writes uploads above FILE_UPLOAD_MAX_MEMORY_SIZE to temporary files; an image sent only to be searched for
must not touch the disk. This handler keeps at most the upload byte limit (+1 byte, so `check_upload_size` still sees
an oversized file as oversized) of at most two files of the expected fields and drops anything else.
"""

from __future__ import annotations

from io import BytesIO

from django.conf import settings
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile

QUERY_FILE_FIELDS = frozenset({"file", "file_a", "file_b"})
MAX_FILES = 2  # a verification's two images; more would only hold memory


class QueryImageUploadHandler(FileUploadHandler):
    files = 0

    def new_file(self, field_name: str, *args, **kwargs) -> None:
        if field_name not in QUERY_FILE_FIELDS or self.files >= MAX_FILES:
            raise SkipFile()
        self.files += 1
        super().new_file(field_name, *args, **kwargs)
        self.buffer = BytesIO()
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.received += len(raw_data)
        room = settings.FACESEARCH_MAX_UPLOAD_BYTES + 1 - self.buffer.tell()
        if room > 0:
            self.buffer.write(raw_data[:room])
        return None

    def file_complete(self, file_size: int) -> InMemoryUploadedFile:
        self.buffer.seek(0)
        return InMemoryUploadedFile(
            file=self.buffer,
            field_name=self.field_name,
            name=self.file_name,
            content_type=self.content_type,
            size=self.received,  # the size sent, so an oversized upload is refused as such
            charset=self.charset,
            content_type_extra=self.content_type_extra,
        )
