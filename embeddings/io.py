"""Reading images: any source in, RGB uint8 pixels out; every way an untrusted file can fail raises `ImageError`.

Limits are checked before decoding (byte cap while reading, pixel count from the header), so a hostile file costs
neither memory nor time. Only common photo formats are opened: Pillow also knows formats such as EPS that shell out
to other programs, and a face search has no use for them.

Pillow has its own pixel limit, checked inside `Image.open` before ours can see the size: above
`Image.MAX_IMAGE_PIXELS` (89.5 MP by default) it warns with `DecompressionBombWarning`, above twice that it raises
`DecompressionBombError`. The default `max_pixels` (50 MP) is stricter, so with defaults the warning only precedes our
refusal; a caller raising `max_pixels` above Pillow's limit must raise `Image.MAX_IMAGE_PIXELS` too (a process-wide
setting, so it is theirs to change). Both become `ImageError`, the warning where warnings are errors.

`read_reduced` decodes a large JPEG at 1/2, 1/4 or 1/8 of its size for detection (libjpeg scales inside the inverse
DCT: a 12 MP photo decodes in about a quarter of the full decode's time, and the detector's shrink then costs a
quarter too), and decodes it finer only where a face's crop needs the pixels (`Decoded`).
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.client import HTTPException
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from embeddings.errors import ImageError

DEFAULT_MAX_PIXELS = 50_000_000  # above the largest phone cameras' 48 MP; ~150 MB once decoded to RGB
DEFAULT_MAX_BYTES = 50 * 1024 * 1024  # a 48 MP HEIC or high-quality JPEG is 10-25 MB
DEFAULT_TIMEOUT = 10.0  # seconds for a whole URL download, not per read

FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "PPM", "HEIF", "AVIF")  # PPM covers PGM and PBM
_CHUNK = 64 * 1024
_WHITE = (255, 255, 255)
_NUMERIC_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N", "F")  # values to scale, not colours: see _to_uint8
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")

Source = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO | Image.Image | np.ndarray
# The scales libjpeg decodes at directly (Pillow's `draft`), coarsest first.
JPEG_REDUCTIONS = (8, 4, 2, 1)
# The upright axes (x, y) each EXIF orientation reverses (1: none): along them a reduced decode's last, partial block
# lands first, which shifts its pixels against the full image's by that block's missing part (up to 7 px at 1/8).
_REVERSED_AXES = {2: (1, 0), 3: (1, 1), 4: (0, 1), 5: (0, 0), 6: (1, 0), 7: (1, 1), 8: (0, 1)}


def read(
    source: Source,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout: float = DEFAULT_TIMEOUT,
) -> np.ndarray:
    """Decode `source` to a C-contiguous uint8 (H, W, 3) RGB array, EXIF orientation applied.

    `source` is a path, an http(s) URL, bytes, a binary file object, a PIL image or a numpy array (HxW, HxWx1/3/4;
    uint8 as is, uint16 scaled from 0-65535, floats in [0, 1] scaled to 0-255). Transparency is composited on white.
    A uint8 RGB array is returned as is, not copied. Raises `ImageError` for anything that is not a usable image.
    """
    if isinstance(source, np.ndarray):
        return _from_array(source, max_pixels)
    if isinstance(source, Image.Image):
        _check_pixels(source.size, max_pixels)
        return _to_rgb(_pillow_pixels(source, in_place=False))  # a copy: the caller's image is left alone
    return _decode(_read_bytes(source, max_bytes, timeout), max_pixels)


@dataclass(frozen=True, eq=False)
class Decoded:
    """An image decoded at 1/`reduction` of its size, upright (`pixels`), with finer decodes of a JPEG on demand (`at`).

    `size` is the full upright image's (width, height): points map between `at(r)`'s pixels and the full image's with
    `to_full` and `from_full`, pixel centres at integers, so results can be given in the full image's pixels.
    """

    pixels: np.ndarray
    reduction: int
    size: tuple[int, int]
    orientation: int = 1  # the EXIF orientation applied, which `to_full` needs
    data: bytes | None = field(default=None, repr=False)  # the JPEG's bytes, kept for `at`; None if not a JPEG
    max_pixels: int = DEFAULT_MAX_PIXELS

    def at(self, reduction: int) -> np.ndarray:
        """The image decoded at 1/`reduction` (one of JPEG_REDUCTIONS): `pixels` itself at `reduction`, else decoded
        again from the bytes, each call (the caller keeps what it needs)."""
        if reduction == self.reduction:
            return self.pixels
        if self.data is None or reduction not in JPEG_REDUCTIONS:
            raise ValueError(f"this image can be had at reduction {self.reduction} only, not {reduction}")
        with _opened(self.data, self.max_pixels) as image:
            _draft(image, reduction)
            return _to_rgb(_pillow_pixels(image, in_place=True))

    def at_least(self, min_side: int) -> Decoded:
        """This image as `read_reduced` would give it for `min_side`: itself, unless its longer side is shorter."""
        reduction = min(self.reduction, _reduction(self.size, min_side))
        return self if reduction == self.reduction else replace(self, pixels=self.at(reduction), reduction=reduction)

    def coarsest(self, magnification: float) -> int:
        """The largest reduction, at most `reduction`, whose pixels are at least as fine as those of a crop that
        magnifies the full image `magnification` times: finer than that, the crop samples detail the decode lacks."""
        return max((r for r in JPEG_REDUCTIONS if r <= self.reduction and r * magnification <= 1), default=1)

    def to_full(self, points: np.ndarray, reduction: int | None = None) -> np.ndarray:
        """(..., 2) x, y in pixels of `at(reduction)` (default `pixels`) to pixels of the full image."""
        reduction = self.reduction if reduction is None else reduction
        return (np.asarray(points, np.float64) + 0.5) * reduction - 0.5 + self._offset(reduction)

    def from_full(self, points: np.ndarray, reduction: int | None = None) -> np.ndarray:
        """(..., 2) x, y in pixels of the full image to pixels of `at(reduction)` (default `pixels`)."""
        reduction = self.reduction if reduction is None else reduction
        return (np.asarray(points, np.float64) - self._offset(reduction) + 0.5) / reduction - 0.5

    def _offset(self, reduction: int) -> np.ndarray:
        """Full-image pixels by which a reversed axis' reduced decode starts before the image (0 along the others)."""
        partial = [math.ceil(side / reduction) * reduction - side for side in self.size]
        reversed_axes = _REVERSED_AXES.get(self.orientation, (0, 0))
        return -np.array([p * r for p, r in zip(partial, reversed_axes, strict=True)], np.float64)


def read_reduced(
    source: Source,
    *,
    min_side: int,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout: float = DEFAULT_TIMEOUT,
) -> Decoded:
    """`read`, but a JPEG is decoded at the smallest scale (JPEG_REDUCTIONS) whose longer side still has `min_side`
    pixels, e.g. a detector's input side: a 4032x3024 photo at 1/2 for 1024. Below twice `min_side`, and for other
    formats, arrays and PIL images, `pixels` is exactly what `read` gives. Limits are checked as `read` checks them.
    """
    if isinstance(source, np.ndarray | Image.Image):
        pixels = read(source, max_pixels=max_pixels)
        return Decoded(pixels, 1, (pixels.shape[1], pixels.shape[0]), max_pixels=max_pixels)
    data = _read_bytes(source, max_bytes, timeout)
    with _opened(data, max_pixels) as image:
        width, height = image.size
        wanted = _reduction(image.size, min_side)
        with _pillow_errors(f"{image.format} image"):
            orientation = image.getexif().get(0x0112, 1)  # EXIF Orientation, which `_pillow_pixels` applies
        reduction = _draft(image, wanted)
        pixels = _to_rgb(_pillow_pixels(image, in_place=True))
    if reduction == 1:
        return Decoded(pixels, 1, (pixels.shape[1], pixels.shape[0]), max_pixels=max_pixels)
    size = (height, width) if orientation in (5, 6, 7, 8) else (width, height)  # these turn the image a quarter
    return Decoded(pixels, reduction, size, orientation, data, max_pixels)


def _reduction(size: tuple[int, int], min_side: int) -> int:
    """The coarsest JPEG reduction of an image of `size` whose longer side keeps `min_side` pixels."""
    return max(r for r in JPEG_REDUCTIONS if math.ceil(max(size) / r) >= min_side or r == 1)


def _draft(image: Image.Image, reduction: int) -> int:
    """Have libjpeg decode `image` (opened, not loaded) at 1/`reduction`; gives the reduction it will decode at,
    1 for other formats."""
    if reduction == 1 or image.format not in ("JPEG", "MPO"):
        return 1
    width, height = image.size
    # Pillow picks the largest JPEG scale whose size is at least the one asked: with the sides floored, `reduction`
    # itself, unless a side is shorter than it (then a finer one) or Pillow cannot (None: several tiles).
    with _pillow_errors(f"{image.format} image"):
        drafted = image.draft(None, (max(1, width // reduction), max(1, height // reduction)))
    return 1 if drafted is None else round(width / drafted[1][2])


def _read_bytes(source: Source, max_bytes: int, timeout: float) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        _check_bytes(memoryview(source).nbytes, max_bytes)
        data = bytes(source)
    elif isinstance(source, str) and source.startswith(("http://", "https://")):
        data = _download(source, max_bytes, timeout)
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            _check_bytes(path.stat().st_size, max_bytes)
            with path.open("rb") as file:
                data = _read_capped(file, max_bytes)
        except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
            raise ImageError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from exc
    elif hasattr(source, "read"):
        data = _read_capped(source, max_bytes)
    else:
        raise TypeError(f"cannot read an image from {type(source).__name__}")
    if not data:
        raise ImageError("the input is empty: there are no bytes to decode")
    return data


def _read_capped(file: BinaryIO, max_bytes: int) -> bytes:
    data = file.read(max_bytes + 1)
    _check_bytes(len(data), max_bytes)
    return data


def _download(url: str, max_bytes: int, timeout: float) -> bytes:
    """GET `url`, failing once more than `max_bytes` arrive or `timeout` seconds have passed.

    The deadline is checked as data arrives; a server that stops sending fails after `timeout` without data.
    """
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, headers={"User-Agent": "facesearch", "Accept": "image/*"})
    chunks, size = [], 0
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit():
                _check_bytes(int(declared), max_bytes)
            while chunk := response.read1(_CHUNK):
                size += len(chunk)
                _check_bytes(size, max_bytes)
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the download took longer than {timeout:g} s")
                chunks.append(chunk)
    except (urllib.error.URLError, HTTPException, OSError, ValueError) as exc:
        reason = exc if isinstance(exc, urllib.error.HTTPError) else getattr(exc, "reason", exc)
        raise ImageError(f"cannot download {url}: {reason}") from exc
    return b"".join(chunks)


def _check_bytes(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise ImageError(f"the input is larger than the {max_bytes:,} byte limit")


def _check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width * height > max_pixels:
        raise ImageError(f"the image is {width}x{height} = {width * height:,} pixels, above the {max_pixels:,} limit")
    if width <= 0 or height <= 0:
        raise ImageError(f"the image is {width}x{height}: it has no pixels")


@functools.cache
def _register_heif() -> None:
    """HEIC/HEIF (iPhone photos) through pillow-heif, registered with Pillow once per process."""
    import pillow_heif

    pillow_heif.register_heif_opener()


def _decode(data: bytes, max_pixels: int) -> np.ndarray:
    with _opened(data, max_pixels) as image:
        return _to_rgb(_pillow_pixels(image, in_place=True))


@contextlib.contextmanager
def _opened(data: bytes, max_pixels: int) -> Iterator[Image.Image]:
    """The image of `data`, opened (nothing decoded yet) and its pixel count checked from the header alone."""
    _register_heif()
    with _pillow_errors("image"):
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    with image:
        _check_pixels(image.size, max_pixels)
        yield image


@contextlib.contextmanager
def _pillow_errors(what: str) -> Iterator[None]:
    """Turn any exception Pillow raises while reading untrusted bytes into `ImageError`, chained to the original.

    Pillow's plugins and codecs let out whatever a crafted file trips: OSError, ValueError, SyntaxError, EOFError,
    struct.error, IndexError, TypeError, KeyError, ZeroDivisionError, RuntimeError (AVIF, HEIF), MemoryError, warnings
    raised as errors. No list of types stays complete, so all are caught, and only Pillow calls run inside.
    """
    try:
        yield
    except UnidentifiedImageError as exc:
        raise ImageError(f"not an image, or not one of the formats read here ({', '.join(FORMATS)})") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"the image is too large to decode: {exc}") from exc
    except Exception as exc:
        raise ImageError(f"the {what} is truncated, corrupt or unsupported: {str(exc) or type(exc).__name__}") from exc


def _pillow_pixels(image: Image.Image, *, in_place: bool) -> np.ndarray:
    """Decode the first frame, turn it upright as its EXIF says and composite transparency on white.

    Gives RGB uint8, or the raw values of a 16-bit, 32-bit or float image for `_to_rgb` to scale. Every Pillow call
    after `Image.open` is here, where a truncated or corrupt file fails.
    """
    with _pillow_errors(f"{image.format or 'given'} image"):
        image.load()
        upright = ImageOps.exif_transpose(image, in_place=in_place)
        image = image if upright is None else upright
        if image.mode in _NUMERIC_MODES:
            return np.asarray(image)
        if image.mode in _ALPHA_MODES or "transparency" in image.info:
            rgba = image.convert("RGBA")
            image = Image.alpha_composite(Image.new("RGBA", rgba.size, _WHITE), rgba)
        return np.array(image.convert("RGB"), dtype=np.uint8)


def _from_array(array: np.ndarray, max_pixels: int) -> np.ndarray:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageError(f"an array of shape {array.shape} is not an image: expected (H, W), (H, W, 3) or (H, W, 4)")
    _check_pixels((array.shape[1], array.shape[0]), max_pixels)
    return _to_rgb(array)


def _to_rgb(array: np.ndarray) -> np.ndarray:
    pixels = _to_uint8(array)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    elif pixels.shape[2] == 4:  # composite on white, like Pillow images with alpha
        alpha = pixels[:, :, 3:].astype(np.float32) / 255
        pixels = np.rint(pixels[:, :, :3] * alpha + 255 * (1 - alpha)).astype(np.uint8)
    return np.ascontiguousarray(pixels)


def _to_uint8(array: np.ndarray) -> np.ndarray:
    """Scale by what the dtype means: bool 0/1, uint16 0-65535, floats 0-1 (or 0-255 if larger); other ints by range."""
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if array.dtype == np.uint16:
        return np.rint(array / 257).astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating):
        values = np.nan_to_num(array.astype(np.float32), nan=0.0)
        if values.size and values.min() >= 0 and values.max() <= 1:
            values = values * 255
        return np.rint(np.clip(values, 0, 255)).astype(np.uint8)
    if not np.issubdtype(array.dtype, np.integer):
        raise ImageError(f"an array of dtype {array.dtype} is not an image")
    low, high = (int(array.min()), int(array.max())) if array.size else (0, 0)
    if low >= 0 and high <= 255:
        return array.astype(np.uint8)
    if low >= 0 and high <= 65535:  # 16-bit data in a wider type, e.g. Pillow's "I" mode for 16-bit PNGs
        return np.rint(array / 257).astype(np.uint8)
    # In float64: int32 or int64 `array - low` can overflow; a constant image (high == low) maps to black.
    return np.rint((array.astype(np.float64) - low) * (255 / max(high - low, 1))).astype(np.uint8)
