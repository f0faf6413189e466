"""Draw a face on the photo page: "Add a face", drag a box with the mouse, and the face appears boxed (dashed: drawn
by hand) and listed; a box over a face already there is refused with the reason in the page's message area.

The module works in a library of its own (created, chosen in the bar, filled on the Photos page, deleted at the end).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import api_call, choose, lfw_file, library_with_photos, screenshot

pytestmark = pytest.mark.slow

LIBRARY = "Drawn faces"
PHOTO = "Colin_Powell_0001.jpg"
CORNER = (2, 172, 78, 248)  # the photo's bottom-left corner: suit and background, no face the detector found


@pytest.fixture(scope="module")
def photo(browser: Browser, live_url: str, signed_in_state: Path, lfw_dir: Path) -> Iterator[dict]:
    """LIBRARY with Colin Powell's first photo, processed: `{"library", "photo"}` (the photo as the API shows it)."""
    files = [lfw_file(lfw_dir, PHOTO)]
    with library_with_photos(browser, live_url, signed_in_state, LIBRARY, files) as (_, library, photos):
        yield {"library": library, "photo": photos[PHOTO]}


def drag(page: Page, box: tuple[float, float, float, float], size: tuple[int, int]) -> None:
    """Drag the mouse over the photo from the box's top-left corner to its bottom-right (image pixels)."""
    shown = page.locator("#photo-image").bounding_box()

    def to(x: float, y: float) -> None:
        page.mouse.move(shown["x"] + x / size[0] * shown["width"], shown["y"] + y / size[1] * shown["height"], steps=4)

    to(box[0], box[1])
    page.mouse.down()
    to((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    to(box[2], box[3])
    page.mouse.up()


def test_a_face_drawn_with_the_mouse_appears_and_one_over_a_face_is_refused(page: Page, photo: dict) -> None:
    stored = photo["photo"]
    size = (stored["width"], stored["height"])
    detected = min(stored["faces"], key=lambda f: abs(f["box"][0] + f["box"][2] - size[0]))  # LFW centres it
    page.goto(f"/photos/{stored['id']}/")
    choose(page, photo["library"])
    boxes = page.locator(".facebox")
    expect(boxes).to_have_count(len(stored["faces"]))

    # Over the detected face: refused, and the page says which face is there already.
    page.get_by_role("button", name="Add a face").click()
    expect(page.locator("#draw-hint")).to_contain_text("Drag a box")
    drag(page, tuple(detected["box"]), size)
    expect(page.locator("#photo-error")).to_contain_text(f"covers face {detected['id']}")
    expect(boxes).to_have_count(len(stored["faces"]))

    # Elsewhere: the face is added, boxed dashed and listed as drawn by hand.
    page.get_by_role("button", name="Add a face").click()
    drag(page, CORNER, size)
    expect(page.locator(".toast").last).to_contain_text("Face added")
    expect(page.locator("#photo-error")).to_be_hidden()
    expect(boxes).to_have_count(len(stored["faces"]) + 1)
    expect(page.locator(".facebox.is-drawn")).to_have_count(1)
    expect(page.locator(".face-row.is-active")).to_contain_text("drawn by hand")
    screenshot(page, "photo-drawn-face")

    faces = api_call(page, "GET", f"/api/faces/?photo={stored['id']}")["results"]
    (drawn,) = [face for face in faces if face["source"] == "drawn"]
    assert drawn["box"] == pytest.approx(CORNER, abs=3)  # where the mouse went, in image pixels
    assert drawn["score"] == 0  # no face O-Net could see there: placed by the box's geometry
