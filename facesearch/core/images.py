"""Images in and out of the product, within the configured limits: uploads (the one place where bad files become
HTTP 400s), stored photos, what their headers say (format, EXIF capture time), and JPEG encoding."""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone as django_timezone
from PIL import ExifTags, Image

from embeddings import ImageError, read
from embeddings.io import Decoded, read_reduced
from facesearch.core.errors import ApplicationError

logger = logging.getLogger(__name__)

JPEG_QUALITY = 85
"""Face crops, thumbnails and renders (one quality for all): no visible loss at these sizes, half the bytes of 95."""


def check_upload_size(file: UploadedFile) -> None:
    if not file.size:
        raise ApplicationError("The file is empty.", {"file": file.name})
    if file.size > settings.FACESEARCH_MAX_UPLOAD_BYTES:
        raise ApplicationError(
            f"The file is larger than the {settings.FACESEARCH_MAX_UPLOAD_BYTES} byte limit.",
            {"file": file.name, "size": file.size, "limit": settings.FACESEARCH_MAX_UPLOAD_BYTES},
        )


def read_upload(file: UploadedFile) -> np.ndarray:
    """Decode an upload to RGB pixels, or raise ApplicationError naming what is wrong with it."""
    check_upload_size(file)
    file.seek(0)
    try:
        image = read(
            file.read(), max_pixels=settings.FACESEARCH_MAX_PIXELS, max_bytes=settings.FACESEARCH_MAX_UPLOAD_BYTES
        )
    except ImageError as exc:
        raise ApplicationError(str(exc), {"file": file.name}) from exc
    finally:
        file.seek(0)
    return image


def read_stored(path: Path) -> np.ndarray:
    """A stored photo's pixels, upright, within the same limits as uploads (a file changed on disk is still bounded)."""
    return read(path, max_pixels=settings.FACESEARCH_MAX_PIXELS, max_bytes=settings.FACESEARCH_MAX_UPLOAD_BYTES)


def read_stored_reduced(path: Path, *, min_side: int) -> Decoded:
    """`read_stored`, a large JPEG decoded only as fine as detection needs (`embeddings.io.read_reduced`): the pipeline
    decodes finer where a face's crop needs it."""
    return read_reduced(
        path,
        min_side=min_side,
        max_pixels=settings.FACESEARCH_MAX_PIXELS,
        max_bytes=settings.FACESEARCH_MAX_UPLOAD_BYTES,
    )


FORMAT_EXTENSIONS = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp",
                     "TIFF": "tif", "HEIF": "heic", "AVIF": "avif", "PPM": "ppm"}  # fmt: skip

EARLIEST_TAKEN_AT = datetime(1900, 1, 1, tzinfo=UTC)  # before any photo with EXIF, after datetime.min


@dataclass(frozen=True)
class ImageFacts:
    extension: str
    width: int
    height: int
    taken_at: datetime | None


def image_facts(file: File, *, image: np.ndarray) -> ImageFacts:
    """Format (for the file extension) and EXIF capture time; the size is that of the decoded, upright image."""
    height, width = image.shape[:2]
    extension, taken_at = None, None
    file.seek(0)
    try:
        with Image.open(file) as pil:
            extension = FORMAT_EXTENSIONS.get(pil.format or "")
            taken_at = _exif_taken_at(pil.getexif())
    except Exception:  # decodable by the pipeline's reader but not by Pillow alone: keep the name's extension
        logger.debug("Pillow could not open %s", file.name, exc_info=True)
    finally:
        file.seek(0)
    if extension is None:
        suffix = Path(file.name or "").suffix.lower().lstrip(".")
        extension = suffix if suffix.isalnum() and len(suffix) <= 5 else "bin"
    return ImageFacts(extension=extension, width=width, height=height, taken_at=taken_at)


def _exif_taken_at(exif: Image.Exif) -> datetime | None:
    """EXIF DateTimeOriginal (or DateTimeDigitized), in its OffsetTime zone when given, else in TIME_ZONE.

    Only a plausible moment is kept (EARLIEST_TAKEN_AT to tomorrow, in UTC): a crafted year 1 or 9999 with an offset
    would be stored by PostgreSQL but could not be read back into a Python datetime, breaking every page showing it.
    """
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    for value_tag, offset_tag in (
        (ExifTags.Base.DateTimeOriginal, ExifTags.Base.OffsetTimeOriginal),
        (ExifTags.Base.DateTimeDigitized, ExifTags.Base.OffsetTimeDigitized),
    ):
        value = sub.get(value_tag)
        if not isinstance(value, str):
            continue
        try:
            moment = _exif_moment(value, sub.get(offset_tag)).astimezone(UTC)
        except (ValueError, OverflowError):
            continue
        if EARLIEST_TAKEN_AT <= moment <= django_timezone.now() + timedelta(days=1):
            return moment
    return None


def _exif_moment(value: str, offset: object) -> datetime:
    """An EXIF date and time ("2024:05:01 12:00:00"), aware: in its offset ("+02:00") when valid, else TIME_ZONE."""
    moment = datetime.strptime(value.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    match = re.fullmatch(r"([+-])([01]\d|2[0-3]):([0-5]\d)", offset.strip("\x00 ") if isinstance(offset, str) else "")
    if match is None:
        return django_timezone.make_aware(moment)
    sign, hours, minutes = match.groups()
    return moment.replace(
        tzinfo=timezone((-1 if sign == "-" else 1) * timedelta(hours=int(hours), minutes=int(minutes)))
    )


def jpeg_encode(image: np.ndarray | Image.Image, *, size: int | None = None) -> bytes:
    """JPEG bytes of RGB pixels or a PIL image, shrunk to at most `size` pixels a side when given (in place)."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(np.asarray(image, dtype=np.uint8))
    if size:
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()
