"""Where facesearch keeps its files: one data directory, chosen here for the settings, `facesearch run` and the tests.

Its own module, free of heavy imports, because the settings read it in every process.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """FACESEARCH_DATA_DIR, else var/ in the checkout (not in the working directory, so `manage.py` run from anywhere
    finds what `facesearch run` wrote): database, Redis, media, secret key and, under models/, the encoder weights."""
    return Path(os.environ.get("FACESEARCH_DATA_DIR", ROOT / "var")).resolve()
