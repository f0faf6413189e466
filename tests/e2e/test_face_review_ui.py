"""Only real faces, in the browser: on a real photo with false detections (a man before a blurred crowd: 2 of its 3
detections are blurred patches, hand labelled in tests/data/real_photos_face_labels.csv) only his face is shown
after the quality gate; "Not a face" (photo page, search results) and "Ignore" (Unknown faces) take a face out, are
undone, and survive a reload.

The module works in a library of its own, so the other e2e modules never see its photos.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import api_call, choose, lfw_file, library_with_photos, screenshot

pytestmark = pytest.mark.slow

LIBRARY = "Only real faces"
REAL_PHOTOS = Path(__file__).resolve().parents[3] / "shared" / "data" / "real-photos"
PATCHES = "Male_24_2_3_1.jpg"
POWELL = "Colin_Powell_0001.jpg"
PHONE = {"width": 390, "height": 844}
SEARCH_TIMEOUT = 60_000  # ms: the query photo is encoded on a busy 2-core machine


@pytest.fixture(scope="module")
def photos(browser: Browser, live_url: str, signed_in_state: Path, lfw_dir: Path) -> Iterator[dict]:
    """LIBRARY with the photo with blurred patches and an LFW photo of Colin Powell, processed by the worker:
    `{"library": id, "patches": photo, "powell": photo}` as the API shows them."""
    if not (REAL_PHOTOS / PATCHES).is_file():
        pytest.skip(f"real photos not found at {REAL_PHOTOS}")
    files = [REAL_PHOTOS / PATCHES, lfw_file(lfw_dir, POWELL)]
    with library_with_photos(browser, live_url, signed_in_state, LIBRARY, files) as (_page, library, by_name):
        yield {"library": library, "patches": by_name[PATCHES], "powell": by_name[POWELL]}


def test_the_gate_shows_only_the_real_face_and_not_a_face_survives_a_reload(page: Page, photos: dict) -> None:
    patches = photos["patches"]
    assert len(patches["faces"]) == 3 and sum(not face["hidden"] for face in patches["faces"]) == 1
    # The Photos grid counts only the shown face.
    page.goto("/photos/")
    choose(page, photos["library"])
    card = page.locator(".photo-card", has_text=PATCHES)
    expect(card).to_contain_text("1 face")
    expect(card).to_contain_text("1 unnamed face")
    page.goto(f"/photos/{patches['id']}/")
    boxes, rows = page.locator(".facebox"), page.locator("#face-list > li")
    expect(boxes).to_have_count(1)
    expect(rows).to_have_count(1)
    expect(page.locator("#hidden-faces")).to_contain_text("Show 2 hidden faces")
    screenshot(page, "face-review-photo-gate")

    # Show hidden: the patches are boxed faintly and listed as probably not faces.
    page.get_by_label("Show 2 hidden faces").check()
    expect(boxes).to_have_count(3)
    expect(page.locator(".facebox.is-hidden")).to_have_count(2)
    expect(rows.filter(has_text="Hidden: probably not a face")).to_have_count(2)
    page.get_by_label("Show 2 hidden faces").uncheck()
    expect(boxes).to_have_count(1)

    # Not a face: his face leaves the photo's faces, and stays out after a reload.
    page.get_by_role("button", name="Not a face: face 1").click()
    expect(page.locator(".toast").last).to_contain_text("not a face")
    expect(boxes).to_have_count(0)
    page.reload()
    expect(page.locator("#hidden-faces")).to_contain_text("Show 3 hidden faces")
    expect(boxes).to_have_count(0)

    # Undo, from the hidden faces: he is back, after a reload too.
    page.get_by_label("Show 3 hidden faces").check()
    expect(page.locator("#face-list .face-status").get_by_text("Not a face", exact=True)).to_have_count(1)
    page.get_by_role("button", name="Undo not a face: face 1", exact=True).click()
    expect(page.locator(".toast").last).to_contain_text("back as it was")
    page.reload()
    expect(boxes).to_have_count(1)
    expect(page.locator("#hidden-faces")).to_contain_text("Show 2 hidden faces")


def test_ignore_on_unknown_faces_persists_and_undo_brings_the_face_back(page: Page, photos: dict) -> None:
    (powell,) = photos["powell"]["faces"]
    (man,) = [face for face in photos["patches"]["faces"] if not face["hidden"]]
    page.goto("/faces/unknown/")
    choose(page, photos["library"])
    cards = page.locator("#face-grid > li")
    expect(cards).to_have_count(2)  # the two men's faces; never a patch
    expect(page.locator(f'#face-grid > li[data-face-id="{man["id"]}"]')).to_be_visible()
    screenshot(page, "face-review-unknown-faces")

    his_card = page.locator(f'#face-grid > li[data-face-id="{powell["id"]}"]')
    his_card.get_by_role("button", name=re.compile(r"^Ignore unknown face \d+$")).click()
    expect(page.locator(".toast").last).to_contain_text("ignored")
    expect(cards).to_have_count(1)
    page.reload()
    expect(cards).to_have_count(1)
    expect(page.locator(f'#face-grid > li[data-face-id="{powell["id"]}"]')).to_have_count(0)

    # "Show hidden and ignored faces": the patches and Powell's ignored face, each with its way back.
    page.get_by_label("Show hidden and ignored faces").check()
    expect(cards).to_have_count(4)
    his = page.locator(f'#face-grid > li[data-face-id="{powell["id"]}"]')
    expect(his.locator(".face-status")).to_have_text("Ignored")
    his.get_by_role("button", name=re.compile(r"^Undo ignored: unknown face \d+$")).click()
    expect(page.locator(f'#face-grid > li[data-face-id="{powell["id"]}"] .face-status')).to_have_count(0)
    page.reload()
    expect(cards).to_have_count(2)
    expect(page.locator(f'#face-grid > li[data-face-id="{powell["id"]}"]')).to_be_visible()


def test_not_a_face_from_the_search_results_removes_the_match_until_undone(page: Page, photos: dict) -> None:
    (man,) = [face for face in photos["patches"]["faces"] if not face["hidden"]]
    page.goto("/")
    choose(page, photos["library"])
    page.get_by_label("Photo to search with").set_input_files(REAL_PHOTOS / PATCHES)
    shown = page.locator("#results .result:not([hidden])")
    expect(shown).to_have_count(1, timeout=SEARCH_TIMEOUT)  # the photo's own face: never a patch
    page.get_by_role("button", name="Not a face: match 1").click()
    expect(shown).to_have_count(0)
    page.reload()
    page.get_by_label("Photo to search with").set_input_files(REAL_PHOTOS / PATCHES)
    expect(page.locator("#results-empty")).to_be_visible(timeout=SEARCH_TIMEOUT)
    expect(shown).to_have_count(0)
    api_call(page, "POST", f"/api/faces/{man['id']}/review/", {"review": ""})  # undo, for the other tests


def test_on_a_phone_the_photo_shows_only_its_real_face(browser: Browser, live_url: str, signed_in_state: Path,
                                                        photos: dict) -> None:  # fmt: skip
    context = browser.new_context(base_url=live_url, storage_state=str(signed_in_state), viewport=PHONE)
    try:
        page = context.new_page()
        page.goto(f"/photos/{photos['patches']['id']}/")
        choose(page, photos["library"])
        expect(page.locator(".facebox")).to_have_count(1)
        expect(page.get_by_role("button", name="Not a face: face 1")).to_be_visible()
        screenshot(page, "face-review-photo-phone")
    finally:
        context.close()
