"""Screenshots of the main pages at 1280x900 and at 390x844 (a phone's touch screen), with real photos in them, for
the README: `docs/screenshots/<page>-<desktop|phone>.png`. The test checks that every page renders without a script
error, a CSP violation or a sideways scroll on the phone; it does not compare pixels. Each file is the first screen
of the page, reduced to 256 colours so that it stays small.

Run it (it rewrites the files): `.venv/bin/python -m pytest -q -p no:cacheprovider tests/e2e/test_screenshots.py`
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import (
    IMAGES_SHOWN,
    ROOT,
    api_call,
    choose,
    lfw_file,
    library_with_photos,
    watch_for_errors,
)

pytestmark = pytest.mark.slow

OUT = ROOT / "docs" / "screenshots"
LIBRARY = "Family"
REAL_PHOTOS = ROOT.parent / "shared" / "data" / "real-photos"
CHRISTMAS = "Female_40_2_2_1.jpg"  # a woman before a Christmas tree
POWELL = ["Colin_Powell_0001.jpg", "Colin_Powell_0002.jpg", "Colin_Powell_0003.jpg"]
BUSH = ["George_W_Bush_0001.jpg", "George_W_Bush_0002.jpg"]
UNNAMED = ["Serena_Williams_0001.jpg", "Serena_Williams_0002.jpg", "Hugo_Chavez_0001.jpg"]
QUERY = "Colin_Powell_0004.jpg"
SIZES = {"desktop": {"viewport": {"width": 1280, "height": 900}}, "phone": {
    "viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}}  # fmt: skip
SEARCH_TIMEOUT = 60_000


@pytest.fixture(scope="module")
def family(browser: Browser, live_url: str, signed_in_state: Path, lfw_dir: Path) -> Iterator[dict]:
    """LIBRARY with LFW photos (Colin Powell and George W Bush named, the others not) and, when present, a real photo
    with false detections: `{"library", "powell": person, "photo": a photo id}`."""
    files = [lfw_file(lfw_dir, name) for name in POWELL + BUSH + UNNAMED]
    if (REAL_PHOTOS / CHRISTMAS).is_file():
        files.append(REAL_PHOTOS / CHRISTMAS)
    with library_with_photos(browser, live_url, signed_in_state, LIBRARY, files) as (page, library, photos):
        face = {name: photo["faces"][0]["id"] for name, photo in photos.items() if photo["faces"]}
        people = {}
        for name, named in (("Colin Powell", POWELL[:2]), ("George W Bush", BUSH)):
            people[name] = api_call(page, "POST", "/api/people/", {"name": name, "library": library})
            api_call(page, "POST", f"/api/people/{people[name]['id']}/faces/", {"face_ids": [face[n] for n in named]})
        photo = photos.get(CHRISTMAS) or photos[POWELL[0]]
        yield {"library": library, "powell": people["Colin Powell"], "photo": photo["id"]}


def save(page: Page, name: str) -> Path:
    """The first screen of the page, in 256 colours (a tenth of the size of a true-colour PNG)."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function(IMAGES_SHOWN)
    page.wait_for_timeout(300)  # transitions (the top bar) settle
    image = Image.open(io.BytesIO(page.screenshot()))
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.png"
    image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path


@pytest.mark.parametrize("size", SIZES)
def test_screenshots_of_the_main_pages(
    browser: Browser, live_url: str, signed_in_state: Path, family: dict, lfw_dir: Path, size: str
) -> None:
    context = browser.new_context(
        base_url=live_url, storage_state=str(signed_in_state), device_scale_factor=1, **SIZES[size]
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors = watch_for_errors(page)
    try:
        page.goto("/photos/")
        choose(page, family["library"])
        expect(page.locator("#photo-grid .photo-card").first).to_be_visible()
        pages = {
            "photos": ("/photos/", "#photo-grid .photo-card"),
            "photo": (f"/photos/{family['photo']}/", ".facebox"),
            "people": ("/people/", ".person-card"),
            "person": (f"/people/{family['powell']['id']}/", "h1"),
            "unknown-faces": ("/faces/unknown/", "main img"),
            "jobs": ("/jobs/", ".job"),
        }
        saved = []
        for name, (path, ready) in pages.items():
            page.goto(path)
            expect(page.locator(ready).first).to_be_visible()
            saved.append(save(page, f"{name}-{size}"))
            if size == "phone":
                assert page.evaluate("document.documentElement.scrollWidth") <= 390, f"{path} scrolls sideways"

        page.goto("/")
        page.get_by_label("Photo to search with").set_input_files(lfw_file(lfw_dir, QUERY))
        expect(page.locator("#results .result:not([hidden])").first).to_be_visible(timeout=SEARCH_TIMEOUT)
        saved.append(save(page, f"search-{size}"))
        for path in saved:
            assert path.stat().st_size < 400_000, f"{path} is {path.stat().st_size} bytes"
    finally:
        context.close()
    assert not errors, f"JavaScript errors or CSP violations: {errors}"
