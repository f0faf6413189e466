"""embeddings.read: every source kind, format and mode in; RGB uint8 out; every bad input a clear ImageError."""

from __future__ import annotations

import io
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pillow_heif
import pytest
from PIL import Image

from embeddings import ImageError, read

QUADRANTS = {(0, 0): (255, 0, 0), (0, 1): (0, 255, 0), (1, 0): (0, 0, 255), (1, 1): (255, 255, 255)}


def quadrants(width: int = 64, height: int = 48) -> Image.Image:
    """Red, green / blue, white quadrants: a picture whose orientation and colours can be checked after decoding."""
    pixels = np.zeros((height, width, 3), np.uint8)
    for (row, col), colour in QUADRANTS.items():
        pixels[row * height // 2 : (row + 1) * height // 2, col * width // 2 : (col + 1) * width // 2] = colour
    return Image.fromarray(pixels)


def assert_quadrants(pixels: np.ndarray, tolerance: int = 0) -> None:
    height, width = pixels.shape[:2]
    for (row, col), colour in QUADRANTS.items():
        centre = pixels[(2 * row + 1) * height // 4, (2 * col + 1) * width // 4].astype(int)
        assert np.abs(centre - colour).max() <= tolerance, ((row, col), centre, colour)


def encode(image: Image.Image, format: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **params)
    return buffer.getvalue()


def noise_jpeg(size: int = 256) -> bytes:
    """A JPEG with enough entropy that cutting it short removes real image data."""
    pixels = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    return encode(Image.fromarray(pixels), "JPEG", quality=95)


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims width x height RGB pixels but holds no image data: a decompression bomb's header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_read_returns_contiguous_rgb_uint8():
    pixels = read(encode(quadrants(), "PNG"))
    assert pixels.shape == (48, 64, 3)
    assert pixels.dtype == np.uint8
    assert pixels.flags.c_contiguous
    assert_quadrants(pixels)


# Sources


def test_reads_path_as_str_and_as_path(tmp_path: Path):
    path = tmp_path / "q.png"
    quadrants().save(path)
    assert_quadrants(read(path))
    assert_quadrants(read(str(path)))


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview, io.BytesIO], ids=lambda w: w.__name__)
def test_reads_bytes_like_and_file_objects(wrap):
    assert_quadrants(read(wrap(encode(quadrants(), "PNG"))))


def test_reads_an_open_binary_file(tmp_path: Path):
    path = tmp_path / "q.png"
    quadrants().save(path)
    with path.open("rb") as file:
        assert_quadrants(read(file))


def test_reads_a_pil_image_without_changing_it():
    image = quadrants().convert("RGBA")
    assert_quadrants(read(image))
    assert image.mode == "RGBA"


def test_uint8_rgb_array_is_returned_as_is():
    pixels = np.asarray(quadrants()).copy()
    assert read(pixels) is pixels


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.full((4, 5), 100, np.uint8), 100),
        (np.full((4, 5, 1), 100, np.uint8), 100),
        (np.full((4, 5, 3), 100 * 257, np.uint16), 100),
        (np.full((4, 5, 3), 0.5, np.float32), 128),
        (np.full((4, 5, 3), 100.0, np.float64), 100),
        (np.full((4, 5), True), 255),
        (np.full((4, 5), 100, np.int64), 100),
        (np.full((4, 5), 100 * 257, np.int32), 100),
    ],
    ids=["grey", "grey-1-channel", "uint16", "float-0-1", "float-0-255", "bool", "int64-8bit", "int32-16bit"],
)
def test_array_dtypes_are_scaled_by_what_they_mean(array: np.ndarray, expected: int):
    pixels = read(array)
    assert pixels.shape == (4, 5, 3)
    assert pixels.dtype == np.uint8
    assert np.all(pixels == expected)


def test_rgba_array_is_composited_on_white():
    array = np.zeros((2, 2, 4), np.uint8)
    array[..., 0] = 255  # red
    array[0, 0, 3], array[0, 1, 3], array[1, :, 3] = 0, 255, 128
    pixels = read(array)
    assert pixels[0, 0].tolist() == [255, 255, 255]
    assert pixels[0, 1].tolist() == [255, 0, 0]
    assert pixels[1, 0].tolist() == [255, 127, 127]


def test_unreadable_source_type_is_a_type_error():
    with pytest.raises(TypeError):
        read(12345)


# URLs


class _Routes(BaseHTTPRequestHandler):
    png = encode(quadrants(), "PNG")

    def do_GET(self):
        if self.path == "/q.png":
            self._send(self.png, {"Content-Type": "image/png", "Content-Length": str(len(self.png))})
        elif self.path == "/text":
            self._send(b"not an image", {"Content-Type": "text/plain"})
        elif self.path == "/big":  # no Content-Length: only counting while streaming can stop it
            self._send(b"\0" * 300_000, {})
        elif self.path == "/big-declared":
            self._send(b"\0" * 1000, {"Content-Length": str(10**9)})
        elif self.path == "/slow":
            time.sleep(3)
            self._send(self.png, {})
        elif self.path == "/drip":  # each byte comes quickly, the whole never does
            self.send_response(200)
            self.end_headers()
            for _ in range(40):
                self.wfile.write(b"\0")
                self.wfile.flush()
                time.sleep(0.1)
        else:
            self.send_error(404)

    def _send(self, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(200)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # clients that give up on purpose break the connection


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = _QuietServer(("127.0.0.1", 0), _Routes)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_reads_an_http_url(server: str):
    assert_quadrants(read(f"{server}/q.png"))


def test_url_above_byte_cap_fails_while_streaming(server: str):
    with pytest.raises(ImageError, match="100,000 byte limit"):
        read(f"{server}/big", max_bytes=100_000)


def test_url_declaring_more_than_byte_cap_fails_before_reading(server: str):
    with pytest.raises(ImageError, match="byte limit"):
        read(f"{server}/big-declared")


def test_url_that_does_not_answer_in_time_fails(server: str):
    started = time.monotonic()
    with pytest.raises(ImageError, match="cannot download"):
        read(f"{server}/slow", timeout=0.5)
    assert time.monotonic() - started < 2


def test_url_that_trickles_past_the_timeout_fails(server: str):
    started = time.monotonic()
    with pytest.raises(ImageError, match="longer than 1 s"):
        read(f"{server}/drip", timeout=1)
    assert time.monotonic() - started < 2.5


def test_url_not_found_names_the_http_error(server: str):
    with pytest.raises(ImageError, match="404"):
        read(f"{server}/missing")


def test_url_of_text_is_not_an_image(server: str):
    with pytest.raises(ImageError, match="not an image"):
        read(f"{server}/text")


# Formats


@pytest.mark.parametrize(
    ("format", "params", "tolerance"),
    [
        ("JPEG", {"quality": 95}, 40),
        ("PNG", {}, 0),
        ("WEBP", {"lossless": True}, 0),
        ("GIF", {}, 0),
        ("BMP", {}, 0),
        ("TIFF", {}, 0),
        ("HEIF", {"quality": 90}, 40),
        ("AVIF", {"quality": 90}, 40),
    ],
)
def test_reads_each_format(format: str, params: dict, tolerance: int):
    pillow_heif.register_heif_opener()  # for writing HEIF; read() registers it for reading
    assert_quadrants(read(encode(quadrants(), format, **params)), tolerance)


def test_reads_pgm():
    data = encode(Image.new("L", (6, 4), 77), "PPM")
    assert data.startswith(b"P5")
    assert np.all(read(data) == 77)


def test_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: rotate 90 degrees clockwise to display
    data = encode(quadrants(64, 48), "JPEG", quality=95, exif=exif.tobytes())
    pixels = read(data)
    assert pixels.shape == (64, 48, 3)
    # Clockwise: the stored left column (red over blue) becomes the top row, blue on the left.
    assert np.abs(pixels[16, 36].astype(int) - (255, 0, 0)).max() < 40
    assert np.abs(pixels[16, 12].astype(int) - (0, 0, 255)).max() < 40


# Modes


def palette_image(transparent: bool) -> Image.Image:
    image = Image.new("P", (4, 4), 1)
    image.putpalette([0, 0, 0, 200, 30, 10] + [0] * 762)
    if transparent:
        image.info["transparency"] = 1
    return image


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (Image.new("1", (4, 4), 1), (255, 255, 255)),
        (Image.new("L", (4, 4), 90), (90, 90, 90)),
        (Image.new("LA", (4, 4), (90, 255)), (90, 90, 90)),
        (Image.new("LA", (4, 4), (90, 0)), (255, 255, 255)),
        (palette_image(transparent=False), (200, 30, 10)),
        (palette_image(transparent=True), (255, 255, 255)),
        (Image.new("PA", (4, 4), (1, 0)), (255, 255, 255)),
        (Image.new("RGBA", (4, 4), (200, 30, 10, 255)), (200, 30, 10)),
        (Image.new("RGBA", (4, 4), (200, 30, 10, 0)), (255, 255, 255)),
        (Image.new("CMYK", (4, 4), (0, 255, 255, 0)), (255, 0, 0)),
        (Image.fromarray(np.full((4, 4), 90 * 257, np.uint16)), (90, 90, 90)),
        (Image.fromarray(np.full((4, 4), 90, np.int32)), (90, 90, 90)),
        (Image.fromarray(np.full((4, 4), 0.5, np.float32)), (128, 128, 128)),
    ],
    ids=[
        "1",
        "L",
        "LA",
        "LA-transparent",
        "P",
        "P-transparent",
        "PA",
        "RGBA",
        "RGBA-transparent",
        "CMYK",
        "I;16",
        "I",
        "F",
    ],
)
def test_every_mode_becomes_rgb(image: Image.Image, expected: tuple[int, int, int]):
    pixels = read(image)
    assert pixels.shape == (4, 4, 3)
    assert pixels[1, 1].tolist() == list(expected)


@pytest.mark.parametrize(
    ("image", "format", "expected"),
    [
        (Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "JPEG", (255, 0, 0)),
        (Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "TIFF", (255, 0, 0)),
        (Image.fromarray(np.full((8, 8), 90 * 257, np.uint16)), "PNG", (90, 90, 90)),
        (Image.fromarray(np.full((8, 8), 0.5, np.float32)), "TIFF", (128, 128, 128)),
        (Image.new("LA", (8, 8), (90, 0)), "PNG", (255, 255, 255)),
        (Image.new("RGBA", (8, 8), (200, 30, 10, 0)), "WEBP", (255, 255, 255)),
    ],
    ids=["cmyk-jpeg", "cmyk-tiff", "16bit-png", "float-tiff", "la-png", "rgba-webp"],
)
def test_modes_survive_a_file_round_trip(image: Image.Image, format: str, expected: tuple[int, int, int]):
    pixels = read(encode(image, format))
    assert np.abs(pixels[4, 4].astype(int) - expected).max() <= 3


def test_animation_gives_its_first_frame():
    frames = [Image.new("RGB", (8, 8), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    assert read(data)[4, 4].tolist() == [255, 0, 0]


# Bad input


@pytest.mark.parametrize("source", [b"", bytearray(), io.BytesIO()], ids=["bytes", "bytearray", "file"])
def test_empty_input_is_an_image_error(source):
    with pytest.raises(ImageError, match="empty"):
        read(source)


def test_empty_file_is_an_image_error(tmp_path: Path):
    (tmp_path / "empty.jpg").touch()
    with pytest.raises(ImageError, match="empty"):
        read(tmp_path / "empty.jpg")


def test_missing_file_is_an_image_error(tmp_path: Path):
    with pytest.raises(ImageError, match="cannot read"):
        read(tmp_path / "missing.jpg")


def test_text_is_not_an_image(tmp_path: Path):
    (tmp_path / "notes.jpg").write_text("these are not pixels\n")
    with pytest.raises(ImageError, match="not an image"):
        read(tmp_path / "notes.jpg")


def test_corrupt_jpeg_is_an_image_error():
    with pytest.raises(ImageError):
        read(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8)


def test_truncated_jpeg_is_an_image_error():
    data = noise_jpeg()
    assert read(data).shape == (256, 256, 3)
    with pytest.raises(ImageError, match="truncated"):
        read(data[: len(data) // 2])


def test_formats_outside_the_allow_list_are_refused():
    with pytest.raises(ImageError, match="not one of the formats"):
        read(encode(quadrants(32, 32), "ICO"))


@pytest.mark.parametrize("side", [8000, 100_000], ids=["64MP", "10GP"])
def test_pixel_bomb_fails_fast_from_its_header(side: int):
    started = time.monotonic()
    with pytest.raises(ImageError, match="pixel"):
        read(png_header(side, side))
    assert time.monotonic() - started < 0.5


def test_pixel_limit_applies_to_every_source():
    image = quadrants(40, 40)
    for source in (encode(image, "PNG"), image, np.asarray(image)):
        with pytest.raises(ImageError, match="1,000 limit"):
            read(source, max_pixels=1000)


def test_byte_cap_applies_to_bytes_paths_and_files(tmp_path: Path):
    data = encode(quadrants(), "PNG")
    (tmp_path / "q.png").write_bytes(data)
    for source in (data, tmp_path / "q.png", io.BytesIO(data)):
        with pytest.raises(ImageError, match="100 byte limit"):
            read(source, max_bytes=100)


@pytest.mark.parametrize("shape", [(4,), (4, 4, 2), (2, 4, 4, 3), (0, 4, 3)])
def test_arrays_that_are_not_images_are_refused(shape: tuple[int, ...]):
    with pytest.raises(ImageError):
        read(np.zeros(shape, np.uint8))
