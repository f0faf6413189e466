"""embeddings.read on damaged files: thousands of seeded mutations per format, each must decode or raise ImageError.

Pillow's plugins raise whatever their parsing trips on (struct.error, SyntaxError, ValueError, ...) and the web API
turns anything but ImageError into a 500. The fuzzer is a plain seeded `random.Random`: a failure names the format, the
seed file, the mutation and the expression that rebuilds the input (`face` being this module's fixture).
"""

from __future__ import annotations

import functools
import io
import random
import re
import time
import warnings
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pillow_heif
import pytest
from PIL import Image, features

from embeddings import ImageError, read

pytestmark = pytest.mark.slow  # a sweep of mutated files: minutes of decoding, not the inner loop

SEED = 20250601  # change it to explore other mutations; a failure names the per-input seed that rebuilds it
INPUTS_PER_FORMAT = 8000  # 28 s for the ten formats on a busy 2-core machine (pytest --durations)
MAX_PIXELS = 1 << 18  # 64 times every seed image (64x64): a header claiming more is refused before decoding
MAX_BYTES = 1 << 20  # above every seed file (under 20 kB) even after insertions
FACE = "Aaron_Eckhart"
FORMATS = ["JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "PPM", "PGM", "HEIF", "AVIF"]


@dataclass(frozen=True)
class Field:
    """A number parsers trust (a length, a dimension, a count, a bit depth): where mutations do the most harm."""

    offset: int
    size: int
    order: Literal["big", "little", "ascii"]  # ascii: a decimal token of a PPM/PGM header


@dataclass(frozen=True)
class Structure:
    """What the fuzzer knows of a seed file: the offsets of its header (truncated at each) and its number fields."""

    header: Sequence[int]
    fields: list[Field]


# Seed images: every format, from a real face and a tiny synthetic picture, in the variants its plugin reads differently


def encode(image: Image.Image, format: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **params)
    return buffer.getvalue()


def synthetic() -> Image.Image:
    """Four coloured quadrants, 16x12: a seed small enough that every one of its bytes is near a boundary."""
    pixels = np.zeros((12, 16, 3), np.uint8)
    pixels[:6, :8], pixels[:6, 8:], pixels[6:, :8], pixels[6:, 8:] = (255, 0, 0), (0, 255, 0), (0, 0, 255), 255
    return Image.fromarray(pixels)


def with_alpha(image: Image.Image) -> Image.Image:
    """A real alpha ramp: an opaque RGBA image is written without its alpha channel by most encoders."""
    rgba = image.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(image.size))
    return rgba


def grey16(image: Image.Image) -> Image.Image:
    return Image.fromarray(np.asarray(image.convert("L")).astype(np.uint16) * 257)


def rotated_exif() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise, which read() applies
    return exif.tobytes()


def plain_pnm(image: Image.Image, magic: str) -> bytes:
    """The ASCII variants (P2 grey, P3 colour) that Pillow reads but does not write."""
    values = np.asarray(image).reshape(image.height, -1)
    rows = "\n".join(" ".join(map(str, row)) for row in values)
    return f"{magic}\n# a comment\n{image.width} {image.height}\n255\n{rows}\n".encode()


def seeds(format: str, face: Image.Image) -> dict[str, bytes]:
    """Valid files to mutate, named; each decodes cleanly before mutation."""
    small, exif, frames = synthetic(), rotated_exif(), [face, face.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    if format == "JPEG":
        return {
            "face": encode(face, "JPEG", quality=90),
            "face-progressive": encode(face, "JPEG", quality=90, progressive=True),
            "face-exif-rotated": encode(face, "JPEG", exif=exif),
            "face-grey": encode(face.convert("L"), "JPEG"),
            "face-cmyk": encode(face.convert("CMYK"), "JPEG"),
            "synthetic": encode(small, "JPEG"),
        }
    if format == "PNG":
        return {
            "face": encode(face, "PNG"),
            "face-alpha": encode(with_alpha(face), "PNG"),
            "face-palette": encode(face.quantize(64), "PNG"),
            "face-16bit": encode(grey16(face), "PNG"),
            "face-exif-rotated": encode(face, "PNG", exif=exif),
            "synthetic-palette-transparent": encode(small.quantize(4), "PNG", transparency=0),
            "synthetic": encode(small, "PNG"),
        }
    if format == "WEBP":
        return {
            "face": encode(face, "WEBP"),
            "face-lossless": encode(face, "WEBP", lossless=True),
            "face-alpha": encode(with_alpha(face), "WEBP"),
            "face-exif-rotated": encode(face, "WEBP", exif=exif),
            "face-animated": encode(frames[0], "WEBP", save_all=True, append_images=frames[1:]),
            "synthetic": encode(small, "WEBP", lossless=True),
        }
    if format == "GIF":
        return {
            "face": encode(face, "GIF"),
            "face-not-interlaced": encode(face, "GIF", interlace=False),
            "face-transparent": encode(face.quantize(64), "GIF", transparency=0),
            "face-animated": encode(frames[0], "GIF", save_all=True, append_images=frames[1:]),
            "synthetic": encode(small, "GIF"),
        }
    if format == "BMP":
        return {
            "face": encode(face, "BMP"),
            "face-palette": encode(face.quantize(64), "BMP"),
            "face-1bit": encode(face.convert("1"), "BMP"),
            "face-32bit": encode(face.convert("RGBA"), "BMP"),
            "synthetic": encode(small, "BMP"),
        }
    if format == "TIFF":
        return {
            "face": encode(face, "TIFF"),
            "face-lzw": encode(face, "TIFF", compression="tiff_lzw"),
            "face-deflate": encode(face, "TIFF", compression="tiff_adobe_deflate"),
            "face-packbits": encode(face, "TIFF", compression="packbits"),
            "face-jpeg": encode(face, "TIFF", compression="jpeg"),
            "face-alpha": encode(with_alpha(face), "TIFF"),
            "face-16bit": encode(grey16(face), "TIFF"),
            "face-cmyk": encode(face.convert("CMYK"), "TIFF"),
            "face-exif-rotated": encode(face, "TIFF", exif=exif),
            "synthetic": encode(small, "TIFF"),
        }
    if format == "PPM":
        return {
            "face": encode(face, "PPM"),
            "synthetic-plain": plain_pnm(small, "P3"),
            "synthetic": encode(small, "PPM"),
        }
    if format == "PGM":
        return {
            "face": encode(face.convert("L"), "PPM"),
            "face-16bit": encode(grey16(face), "PPM"),
            "face-bitmap": encode(face.convert("1"), "PPM"),
            "synthetic-plain": plain_pnm(small.convert("L"), "P2"),
        }
    return {  # HEIF, AVIF
        "face": encode(face, format),
        "face-alpha": encode(with_alpha(face), format),
        "face-exif-rotated": encode(face, format, exif=exif),
        "face-grey": encode(face.convert("L"), format),
        "synthetic": encode(small, format),
    }


# Structure: where each format keeps its header and the numbers its parser trusts


def uint(data: bytes, offset: int, size: int, order: Literal["big", "little"]) -> int:
    return int.from_bytes(data[offset : offset + size], order)


def jpeg_structure(data: bytes) -> Structure:
    """Segment lengths, SOF dimensions and precision, up to the first scan's header."""
    fields, pos = [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        fields.append(Field(pos + 2, 2, "big"))
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # SOFn
            fields += [Field(pos + 4, 1, "big"), Field(pos + 5, 2, "big"), Field(pos + 7, 2, "big")]
            fields.append(Field(pos + 9, 1, "big"))  # component count
        pos += 2 + uint(data, pos + 2, 2, "big")
        if marker == 0xDA:  # SOS: entropy-coded data follows
            break
    return Structure(range(pos), fields)


def png_structure(data: bytes) -> Structure:
    """Chunk lengths and every IHDR field, up to the first bytes of image data."""
    fields, pos, header_end = [], 8, len(data)
    while pos + 8 <= len(data):
        fields.append(Field(pos, 4, "big"))
        kind = data[pos + 4 : pos + 8]
        if kind == b"IHDR":
            fields += [Field(pos + 8, 4, "big"), Field(pos + 12, 4, "big")]
            fields += [Field(pos + 16 + i, 1, "big") for i in range(5)]  # depth, colour type, compression, filter, lace
        if kind == b"IDAT":
            header_end = min(header_end, pos + 10)  # the zlib header included
        pos += 12 + uint(data, pos, 4, "big")
    return Structure(range(header_end), fields)


def fix_png_crcs(data: bytes) -> bytes:
    """Recompute every chunk's CRC as a crafted file would: otherwise Pillow stops at a mutated chunk's checksum."""
    out, pos = bytearray(data), 8
    while pos + 12 <= len(out):
        end = pos + 8 + uint(out, pos, 4, "big")
        if end + 4 > len(out):
            break
        out[end : end + 4] = zlib.crc32(out[pos + 4 : end]).to_bytes(4, "big")
        pos = end + 4
    return bytes(out)


def riff_fields(data: bytes, pos: int, end: int) -> Iterator[Field]:
    """WebP's chunk sizes, the VP8X canvas, VP8/VP8L frame sizes and animation frame geometry."""
    while pos + 8 <= end:
        kind, body = data[pos : pos + 4], pos + 8
        size = uint(data, pos + 4, 4, "little")
        yield Field(pos + 4, 4, "little")
        if kind == b"VP8X":
            yield from (Field(body, 1, "little"), Field(body + 4, 3, "little"), Field(body + 7, 3, "little"))
        elif kind == b"VP8 ":
            yield from (Field(body + 6, 2, "little"), Field(body + 8, 2, "little"))
        elif kind == b"VP8L":
            yield Field(body + 1, 4, "little")  # 14-bit width-1 and height-1, packed
        elif kind == b"ANMF":
            yield from (Field(body + i, 3, "little") for i in range(0, 15, 3))  # x, y, width-1, height-1, duration
            yield from riff_fields(data, body + 16, min(end, body + size))
        pos = body + size + (size & 1)


def webp_structure(data: bytes) -> Structure:
    frame = min((data.find(kind) for kind in (b"VP8 ", b"VP8L") if kind in data), default=len(data))
    return Structure(range(min(len(data), frame + 18)), [Field(4, 4, "little"), *riff_fields(data, 12, len(data))])


def gif_structure(data: bytes) -> Structure:
    """Screen and frame dimensions, palette flags, LZW code sizes and every sub-block length."""
    fields = [Field(6, 2, "little"), Field(8, 2, "little"), Field(10, 1, "little")]
    pos = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    header_end = len(data)
    while pos < len(data) and data[pos] in (0x21, 0x2C):
        if data[pos] == 0x21:  # extension: introducer, label, sub-blocks
            pos += 2
        else:  # image descriptor: x, y, width, height, flags, local palette, LZW minimum code size, sub-blocks
            fields += [Field(pos + 1 + 2 * i, 2, "little") for i in range(4)]
            flags = data[pos + 9]
            fields.append(Field(pos + 9, 1, "little"))
            pos += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
            fields.append(Field(pos, 1, "little"))
            header_end = min(header_end, pos + 2)
            pos += 1
        while pos < len(data) and data[pos]:
            fields.append(Field(pos, 1, "little"))
            pos += 1 + data[pos]
        pos += 1
    return Structure(range(header_end), fields)


def bmp_structure(data: bytes) -> Structure:
    """File and info header: sizes, offset to pixels, dimensions, planes, bit depth, compression, palette size."""
    layout = [(2, 4), (10, 4), (14, 4), (18, 4), (22, 4), (26, 2), (28, 2), (30, 4), (34, 4), (46, 4), (50, 4)]
    return Structure(range(uint(data, 10, 4, "little")), [Field(offset, size, "little") for offset, size in layout])


def tiff_structure(data: bytes) -> Structure:
    """The first IFD's entry count and each entry's tag, type, count and value or offset.

    The header is the 8-byte file header and the IFD, wherever it is: libtiff writes it after the pixels.
    """
    order: Literal["big", "little"] = "little" if data[:2] == b"II" else "big"
    ifd = uint(data, 4, 4, order)
    count = uint(data, ifd, 2, order)
    fields = [Field(2, 2, order), Field(4, 4, order), Field(ifd, 2, order)]
    for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
        fields += [Field(entry, 2, order), Field(entry + 2, 2, order), Field(entry + 4, 4, order)]
        fields.append(Field(entry + 8, 4, order))
    return Structure([*range(8), *range(ifd, min(len(data), ifd + 6 + 12 * count))], fields)


def pnm_structure(data: bytes) -> Structure:
    """The header's decimal tokens: width, height and (but for bitmaps) maxval."""
    tokens = 3 if data[:2] in (b"P1", b"P4") else 4
    header = re.match(rb"(P\d)\s+(?:#.*\n)?" + rb"\s+".join([rb"(\d+)"] * (tokens - 1)) + rb"\s", data)
    assert header, data[:32]
    spans = [header.span(i) for i in range(2, tokens + 1)]
    return Structure(range(header.end()), [Field(start, end - start, "ascii") for start, end in spans])


def boxes(data: bytes, pos: int, end: int) -> Iterator[tuple[int, bytes, int]]:
    """ISO-BMFF boxes (HEIF, AVIF) as (offset, type, size), descending into the containers that hold item properties."""
    containers = {b"meta": 4, b"iprp": 0, b"ipco": 0, b"dinf": 0, b"iinf": 6}  # bytes before their child boxes
    while pos + 8 <= end:
        size, kind = uint(data, pos, 4, "big"), data[pos + 4 : pos + 8]
        if size < 8:
            return
        yield pos, kind, size
        if kind in containers:
            yield from boxes(data, pos + 8 + containers[kind], min(end, pos + size))
        pos += size


def bmff_structure(data: bytes) -> Structure:
    """Box sizes, image spatial extents, the primary item id and every 16-bit word of the item locations."""
    fields, header_end = [], len(data)
    for pos, kind, size in boxes(data, 0, len(data)):
        fields.append(Field(pos, 4, "big"))
        if kind == b"ispe":
            fields += [Field(pos + 12, 4, "big"), Field(pos + 16, 4, "big")]
        elif kind == b"pitm":
            fields.append(Field(pos + 12, 2, "big"))
        elif kind == b"iloc":
            fields += [Field(offset, 2, "big") for offset in range(pos + 12, pos + size - 1, 2)]
        elif kind == b"mdat":
            header_end = min(header_end, pos + 24)
    return Structure(range(header_end), fields)


STRUCTURES: dict[str, Callable[[bytes], Structure]] = {
    "JPEG": jpeg_structure,
    "PNG": png_structure,
    "WEBP": webp_structure,
    "GIF": gif_structure,
    "BMP": bmp_structure,
    "TIFF": tiff_structure,
    "PPM": pnm_structure,
    "PGM": pnm_structure,
    "HEIF": bmff_structure,
    "AVIF": bmff_structure,
}


@functools.cache
def structure_of(format: str, data: bytes) -> Structure:
    """Parsed once per seed file: parsing is slower than most reads of a mutated copy."""
    return STRUCTURES[format](data)


# Mutations: each takes the bytes, the seed's structure and a Random, and says what it did


def offset(rng: random.Random, data: bytes, structure: Structure) -> int:
    """Mostly inside the header, where one wrong byte changes how everything after it is read."""
    if structure.header and rng.random() < 0.6:
        return min(rng.choice(structure.header), len(data) - 1)
    return rng.randrange(len(data))


def filler(rng: random.Random, size: int) -> tuple[bytes, str]:
    kind = rng.choice(["00", "ff", "random"])
    if kind == "random":
        return rng.randbytes(size), "random bytes"
    return bytes.fromhex(kind) * size, f"0x{kind}"


def flip_bits(data: bytes, structure: Structure, rng: random.Random) -> tuple[bytes, str]:
    out, flipped = bytearray(data), []
    for _ in range(1 if rng.random() < 0.6 else rng.randint(2, 8)):
        at, bit = offset(rng, data, structure), rng.randrange(8)
        out[at] ^= 1 << bit
        flipped.append(f"{at}.{bit}")
    return bytes(out), f"flip bit(s) byte.bit {', '.join(flipped)}"


def overwrite(data: bytes, structure: Structure, rng: random.Random) -> tuple[bytes, str]:
    at, size = offset(rng, data, structure), rng.choice([1, 1, 1, 2, 4, 8, 32])
    content, what = filler(rng, size)
    return data[:at] + content + data[at + size :], f"overwrite {size} byte(s) at {at} with {what}"


def set_field(data: bytes, structure: Structure, rng: random.Random) -> tuple[bytes, str]:
    """A length, dimension or count set to an extreme: zero, one, all ones, the sign bit, off by one, doubled."""
    if not structure.fields:
        return overwrite(data, structure, rng)
    field = rng.choice(structure.fields)
    old = data[field.offset : field.offset + field.size]
    if field.order == "ascii":
        current = int(old) if old.isdigit() else 0
        choices = [b"0", b"1", b"-1", b"+1", b"255", b"256", b"65535", b"65536", b"4294967296", b"9" * 30, b""]
        new = rng.choice([*choices, str(current + 1).encode(), str(current * 1000).encode()])
    else:
        bits, current = 8 * field.size, int.from_bytes(old, field.order)
        values = [0, 1, 2, (1 << bits) - 1, (1 << bits) - 2, 1 << (bits - 1), (1 << (bits - 1)) - 1, len(data)]
        value = rng.choice([*values, current + 1, current - 1, current * 2, current // 2, rng.getrandbits(bits)])
        new = (value % (1 << bits)).to_bytes(field.size, field.order)
    mutated = data[: field.offset] + new + data[field.offset + field.size :]
    return mutated, f"set field at {field.offset} {old!r}->{new!r}"


def insert(data: bytes, structure: Structure, rng: random.Random) -> tuple[bytes, str]:
    at, size = offset(rng, data, structure), rng.choice([1, 1, 2, 4, 16, 256])
    content, what = filler(rng, size)
    return data[:at] + content + data[at:], f"insert {size} byte(s) of {what} at {at}"


def delete(data: bytes, structure: Structure, rng: random.Random) -> tuple[bytes, str]:
    at, size = offset(rng, data, structure), min(len(data) - 1, rng.choice([1, 1, 2, 4, 16, 256]))  # keep a byte
    return data[:at] + data[at + size :], f"delete {size} byte(s) at {at}"


MUTATIONS = [flip_bits, flip_bits, overwrite, overwrite, set_field, set_field, set_field, insert, delete]


def mutate(data: bytes, format: str, rng: random.Random) -> tuple[bytes, str]:
    """One to four random mutations of a seed file; PNG's CRCs are then recomputed half of the time."""
    structure, done = structure_of(format, data), []
    for _ in range(1 if rng.random() < 0.7 else rng.randint(2, 4)):
        data, what = rng.choice(MUTATIONS)(data, structure, rng)
        done.append(what)
    if format == "PNG" and rng.random() < 0.5:
        data = fix_png_crcs(data)
        done.append("CRCs recomputed")
    return data, "; ".join(done)


def truncation_ends(format: str, name: str, data: bytes) -> list[int]:
    """Every offset inside the header, then 48 sampled in the payload."""
    header = structure_of(format, data).header
    payload = sorted(set(range(len(data))) - set(header))
    sample = random.Random(f"{SEED}/{format}/{name}/truncate").sample(payload, min(48, len(payload)))
    return [*header, *sorted(sample)]


def mutated_inputs(format: str, name: str, data: bytes, count: int) -> Iterator[tuple[bytes, str, str]]:
    """(bytes, mutation, reproducer): truncation at every header offset and at sampled ones, then `count` mutations."""
    for end in truncation_ends(format, name, data):
        yield data[:end], f"truncate to {end} of {len(data)} bytes", f"seeds({format!r}, face)[{name!r}][:{end}]"
    for index in range(count):
        rng_seed = f"{SEED}/{format}/{name}/{index}"
        reproducer = f"mutate(seeds({format!r}, face)[{name!r}], {format!r}, random.Random({rng_seed!r}))[0]"
        yield *mutate(data, format, random.Random(rng_seed)), reproducer


def is_pixels(result: object) -> bool:
    return (
        isinstance(result, np.ndarray)
        and result.dtype == np.uint8
        and result.ndim == 3
        and result.shape[2] == 3
        and result.flags.c_contiguous
        and 0 < result.shape[0] * result.shape[1] <= MAX_PIXELS
    )


def outcome(data: bytes) -> tuple[str, str]:
    """("pixels" or "ImageError", "") for the allowed outcomes, else what went wrong and its message."""
    try:
        result = read(data, max_pixels=MAX_PIXELS, max_bytes=MAX_BYTES)
    except ImageError:
        return "ImageError", ""
    except Exception as exc:
        return f"{type(exc).__module__}.{type(exc).__qualname__}", str(exc)
    if is_pixels(result):
        return "pixels", ""
    return "bad result", f"{type(result).__name__} {getattr(result, 'dtype', '')} {getattr(result, 'shape', '')}"


@pytest.fixture(scope="module")
def face(lfw_dir: Path) -> Image.Image:
    """The face in the middle of a real LFW photo at 64x64: real texture and colour, quick to decode many times."""
    with Image.open(lfw_dir / "images" / FACE / f"{FACE}_0001.jpg") as image:
        return image.convert("RGB").crop((61, 61, 189, 189)).reduce(2)


@pytest.mark.parametrize("format", FORMATS)
def test_mutated_files_decode_or_raise_image_error(format: str, face: Image.Image, capsys: pytest.CaptureFixture):
    if format == "AVIF" and not features.check("avif"):
        pytest.skip("this Pillow has no AVIF codec")
    pillow_heif.register_heif_opener()  # for writing the HEIF seeds; read() registers it for reading
    files = seeds(format, face)
    truncations = sum(len(truncation_ends(format, name, data)) for name, data in files.items())
    per_seed = max(100, -(-(INPUTS_PER_FORMAT - truncations) // len(files)))
    outcomes: Counter[str] = Counter()
    failures: defaultdict[str, Counter[str]] = defaultdict(Counter)  # what went wrong -> message -> inputs
    examples: dict[tuple[str, str], str] = {}  # the first input of each (what, message)
    started = time.monotonic()
    with warnings.catch_warnings():
        # Pillow's own warnings (corrupt EXIF, ...) are noise here, except DecompressionBombWarning: a deployment
        # running with warnings as errors must still get ImageError from a header that claims too many pixels.
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        for name, data in files.items():
            assert outcome(data)[0] == "pixels", f"the seed {name} does not decode"
            for mutated, mutation, reproducer in mutated_inputs(format, name, data, per_seed):
                what, message = outcome(mutated)
                outcomes[what] += 1
                if what not in ("pixels", "ImageError"):
                    failures[what][message] += 1
                    examples.setdefault((what, message), f"{name}: {mutation}\n        reproduce: {reproducer}")
    tried = sum(outcomes.values())
    with capsys.disabled():
        print(f"\n{format}: {tried} mutated inputs in {time.monotonic() - started:.1f} s: {dict(outcomes)}")
    report = [f"{format} (SEED={SEED}): read() let through"]
    for what, messages in sorted(failures.items(), key=lambda item: -item[1].total()):
        report.append(f"{what}: {messages.total()} input(s)")
        for message, count in messages.most_common(5):
            report.append(f"    {count} x {message[:100]!r}, e.g. {examples[what, message]}")
    assert not failures, "\n".join(report)
    assert tried >= INPUTS_PER_FORMAT
