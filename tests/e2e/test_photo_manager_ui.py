"""The photo manager in the browser, at 1280x900 and on a 390x844 phone, on real LFW photos: one type-ahead naming
control (Enter names a face and moves to the next, a new name creates the person, a similar existing name is offered
first, a name taken is refused beside the field); the Photos grid filtered by several people and by unnamed faces,
grouped by date, with names on the cards, Shift-click ranges, select all, bulk reprocess and delete; a person's
photos and, as a second view, their faces with "not this person" and "move to"; one upload of many files is one job
whose refused files are not offered a retry; the photo viewer's arrow keys and Escape.

The module works in a library of its own (created, chosen in the bar, filled on the Photos page, deleted at the end).
"""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import (
    accept_dialog,
    api_call,
    choose,
    lfw_file,
    library_with_photos,
    screenshot,
    watch_for_errors,
)

pytestmark = pytest.mark.slow

LIBRARY = "Photo manager"
PHOTOS = ["Colin_Powell_0001.jpg", "Colin_Powell_0002.jpg", "Colin_Powell_0003.jpg", "George_W_Bush_0001.jpg"]
PAIR = "Powell_and_Bush.jpg"  # two real faces side by side: a photo with two people
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def pair_photo(lfw_dir: Path, folder: Path) -> Path:
    """Colin Powell's fourth photo and George W Bush's second, side by side in one JPEG."""
    left, right = (Image.open(lfw_file(lfw_dir, name)) for name in ("Colin_Powell_0004.jpg", "George_W_Bush_0002.jpg"))
    pair = Image.new("RGB", (left.width + right.width, max(left.height, right.height)))
    pair.paste(left, (0, 0))
    pair.paste(right, (left.width, 0))
    path = folder / PAIR
    pair.save(path, quality=92)
    return path


@pytest.fixture(scope="module")
def library(browser: Browser, live_url: str, signed_in_state: Path, lfw_dir: Path, tmp_path_factory) -> Iterator[dict]:
    """LIBRARY with PHOTOS and PAIR processed, nobody named: `{"id", "photos": {name: photo}}`."""
    folder = tmp_path_factory.mktemp("photo-manager")
    files = [lfw_file(lfw_dir, name) for name in PHOTOS] + [pair_photo(lfw_dir, folder)]
    with library_with_photos(browser, live_url, signed_in_state, LIBRARY, files) as (_, library_id, photos):
        assert len(photos[PAIR]["faces"]) >= 2, photos[PAIR]["faces"]
        yield {"id": library_id, "photos": photos, "folder": folder}


@pytest.fixture(params=sorted(SIZES))
def sized(request, browser: Browser, live_url: str, signed_in_state: Path) -> Iterator[tuple[Page, str]]:
    """A signed-in page at desktop or phone size; an uncaught error or a CSP violation fails the test."""
    context: BrowserContext = browser.new_context(
        base_url=live_url, storage_state=str(signed_in_state), viewport=SIZES[request.param]
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = watch_for_errors(page)
    yield page, request.param
    assert not errors, f"JavaScript errors or CSP violations: {errors}"
    context.close()


def people_named(page: Page, library: int, name: str) -> list[dict]:
    found = api_call(page, "GET", f"/api/people/?library={library}&hidden=all&search={name}")["results"]
    return [person for person in found if person["name"].lower() == name.lower()]


def reset(page: Page, library: dict) -> None:
    """Nobody named: each test names the faces itself."""
    for person in api_call(page, "GET", f"/api/people/?library={library['id']}&hidden=all&page_size=500")["results"]:
        api_call(page, "DELETE", f"/api/people/{person['id']}/")


def test_one_keyboard_flow_names_every_face_of_a_photo_and_offers_the_existing_name_first(
    sized: tuple[Page, str], library: dict
) -> None:
    page, size = sized
    page.goto("/photos/")
    choose(page, library["id"])
    reset(page, library)
    pair = library["photos"][PAIR]
    page.goto(f"/photos/{pair['id']}/")
    rows = page.locator(".face-row")
    expect(rows).to_have_count(len(pair["faces"]))
    expect(page.locator("#photo-detail button", has_text="Save")).to_have_count(0)  # no per-face forms
    expect(page.locator("#facts")).not_to_contain_text("Taken")  # LFW files carry no date: nothing to say
    expect(rows.first).to_have_attribute("aria-label", f"Face 1 of {len(pair['faces'])} in {PAIR}")

    # A new name and Enter: the person is created, the face named, and the next face's field has the focus.
    first = page.get_by_label("Name face 1", exact=True)
    first.click()
    first.press_sequentially("Colin Powell")
    expect(page.get_by_role("option", name="Create “Colin Powell”")).to_be_visible()
    first.press("Enter")
    expect(page.locator("#stage .facebox-label").first).to_have_text("Colin Powell")
    second = page.get_by_label("Name face 2", exact=True)
    expect(second).to_be_focused()

    # Typing a similar name offers the existing person first; Tab names the face with it and moves on.
    second.press_sequentially("colin pow")
    options = page.get_by_role("listbox", name="Suggestions").get_by_role("option")
    expect(options.first).to_contain_text("Colin Powell")
    expect(options.first).to_have_attribute("aria-selected", "true")
    expect(options.first.locator("img")).to_have_count(1)  # his face, to tell people apart
    screenshot(page, f"photo-manager-picker-{size}")
    second.fill("")
    second.press_sequentially("George W Bush")
    second.press("Tab")
    expect(page.locator("#stage .facebox-label").nth(1)).to_have_text("George W Bush")
    assert [p["name"] for p in people_named(page, library["id"], "Colin Powell")] == ["Colin Powell"]

    # On another photo, his exact name in other letters is his, never a second Colin Powell.
    page.goto(f"/photos/{library['photos']['Colin_Powell_0001.jpg']['id']}/")
    field = page.get_by_label("Name face 1", exact=True)
    field.press_sequentially("COLIN POWELL")
    expect(page.locator(".picker-note")).to_contain_text("Colin Powell is already a person")
    expect(page.get_by_role("option", name=re.compile("Create"))).to_have_count(0)
    field.press("Enter")
    expect(page.locator("#stage .facebox-label")).to_have_text("Colin Powell")
    assert len(people_named(page, library["id"], "Colin Powell")) == 1

    # A name someone gave meanwhile (not in this page's list) is refused by the server, beside the field.
    page.goto(f"/photos/{library['photos']['Colin_Powell_0002.jpg']['id']}/")
    field = page.get_by_label("Name face 1", exact=True)
    expect(field).to_be_visible()  # the page has its people
    api_call(page, "POST", "/api/people/", {"name": "Colin L. Powell", "library": library["id"]})
    field.press_sequentially("Colin L. Powell")
    page.get_by_role("option", name="Create “Colin L. Powell”").click()
    error = page.locator(".face-row .picker-error")
    expect(error).to_contain_text("already a person called Colin L. Powell")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".toast")).to_have_count(0)
    assert len(people_named(page, library["id"], "Colin L. Powell")) == 1


def test_the_photos_grid_filters_groups_selects_and_acts_on_many(sized: tuple[Page, str], library: dict) -> None:
    page, size = sized
    page.goto("/photos/")
    choose(page, library["id"])
    reset(page, library)
    photos = library["photos"]
    powell = api_call(page, "POST", "/api/people/", {"name": "Colin Powell", "library": library["id"]})
    bush = api_call(page, "POST", "/api/people/", {"name": "George W Bush", "library": library["id"]})
    pair = photos[PAIR]["faces"]
    api_call(page, "POST", f"/api/people/{powell['id']}/faces/",
             {"face_ids": [photos["Colin_Powell_0001.jpg"]["faces"][0]["id"], pair[0]["id"]]})  # fmt: skip
    api_call(page, "POST", f"/api/people/{bush['id']}/faces/",
             {"face_ids": [photos["George_W_Bush_0001.jpg"]["faces"][0]["id"], pair[1]["id"]]})  # fmt: skip
    page.reload()

    cards = page.locator("#photo-grid > li[data-photo-id]")
    expect(cards).to_have_count(len(photos))
    expect(page.locator("#photo-grid .date-group").first).to_contain_text("uploaded (no date taken)")
    card = page.locator(f'#photo-grid > li[data-photo-id="{photos[PAIR]["id"]}"]')
    expect(card.locator(".photo-card-people")).to_contain_text("Colin Powell")
    expect(card.locator(".photo-card-people")).to_contain_text("George W Bush")
    image = card.locator("img").bounding_box()
    ratio = image["width"] / image["height"]
    assert ratio > 1.5, ratio  # a wide photo stays wide (the pair is twice as wide as high)
    screenshot(page, f"photo-manager-grid-{size}")

    # With Colin Powell, then with him and George W Bush: the photos with both.
    picker = page.get_by_label("With", exact=True)
    picker.press_sequentially("Colin")
    picker.press("Enter")
    expect(cards).to_have_count(2)
    picker.press_sequentially("Bush")
    picker.press("Enter")
    expect(cards).to_have_count(1)
    expect(cards.first).to_have_attribute("data-photo-id", str(photos[PAIR]["id"]))
    assert "person=" in page.url
    page.get_by_role("button", name="Remove filter: Colin Powell").click()
    page.get_by_role("button", name="Remove filter: George W Bush").click()
    named = {face["id"] for face in (*photos["Colin_Powell_0001.jpg"]["faces"][:1], *pair[:2],
                                        *photos["George_W_Bush_0001.jpg"]["faces"][:1])}  # fmt: skip
    unnamed = [p["id"] for p in photos.values() if any(face["id"] not in named for face in p["faces"])]
    page.get_by_label("Show", exact=True).select_option("unnamed")
    expect(cards).to_have_count(len(unnamed))  # Powell's photos 2 and 3 at least: nobody named there
    page.get_by_role("button", name="Clear filters").click()
    expect(cards).to_have_count(len(photos))

    # Shift-click selects a range; select all selects every photo shown; reprocess and delete act on the selection.
    boxes = page.locator("#photo-grid .photo-select input")
    boxes.nth(0).check()
    boxes.nth(2).click(modifiers=["Shift"])
    expect(page.locator("#selected-count")).to_have_text("3 selected")
    expect(page.locator("#selection-bar")).to_be_visible()
    screenshot(page, f"photo-manager-selected-{size}", full_page=False)
    page.get_by_label("Select all").check()
    expect(page.locator("#selected-count")).to_have_text(f"{len(photos)} selected")
    page.get_by_role("button", name="Clear selection").click()
    expect(page.locator("#selection-bar")).to_be_hidden()

    page.get_by_label("Select George_W_Bush_0001.jpg").check()
    page.get_by_role("button", name="Find faces again").click()
    expect(page.locator(".toast").last).to_contain_text("1 photo queued")
    jobs = api_call(page, "GET", f"/api/jobs/?library={library['id']}&source=reprocess")["results"]
    assert jobs and jobs[0]["total"] == 1


def test_a_persons_page_shows_their_photos_and_acts_on_selected_faces(sized: tuple[Page, str], library: dict) -> None:
    page, size = sized
    page.goto("/photos/")
    choose(page, library["id"])
    reset(page, library)
    photos = library["photos"]
    powell_faces = [photos[f"Colin_Powell_000{n}.jpg"]["faces"][0]["id"] for n in (1, 2, 3)]
    bush_face = photos["George_W_Bush_0001.jpg"]["faces"][0]["id"]
    powell = api_call(page, "POST", "/api/people/", {"name": "Colin Powell", "library": library["id"]})
    api_call(page, "POST", f"/api/people/{powell['id']}/faces/", {"face_ids": [*powell_faces, bush_face]})

    page.goto(f"/people/{powell['id']}/")
    expect(page.get_by_role("tab", name=re.compile("Photos"))).to_have_attribute("aria-selected", "true")
    expect(page.locator("#photo-total")).to_have_text("4")
    expect(page.locator("#person-photo-grid > li")).to_have_count(4)
    screenshot(page, f"photo-manager-person-{size}")

    page.get_by_role("tab", name=re.compile("Faces")).click()
    expect(page.locator("#face-grid > li")).to_have_count(4)
    boxes = page.locator("#face-grid .face-select")
    bush_box = page.locator(f'#face-grid > li[data-face-id="{bush_face}"] .face-select')
    bush_box.check()
    expect(page.locator("#faces-selected")).to_have_text("1 selected")
    page.get_by_role("button", name="Not this person").click()
    expect(page.locator("#person-meta")).to_have_text("3 faces")
    expect(page.locator("#face-grid > li")).to_have_count(3)
    rejected = api_call(page, "GET", f"/api/people/{powell['id']}/rejections/")["results"]
    assert [face["id"] for face in rejected] == [bush_face]

    # Two faces moved to a new person through the same naming field.
    boxes.nth(0).check()
    boxes.nth(1).click(modifiers=["Shift"])
    expect(page.locator("#faces-selected")).to_have_text("2 selected")
    move = page.get_by_label("Move to", exact=True)
    move.press_sequentially("Colin Powell (2)")
    move.press("Enter")
    expect(page.locator(".toast").last).to_contain_text("2 faces moved to Colin Powell (2)")
    expect(page.locator("#person-meta")).to_have_text("1 face")
    assert len(people_named(page, library["id"], "Colin Powell (2)")) == 1


def upload_copy(page: Page, library: int, source: Path, quality: int) -> dict:
    """`source` saved again as a JPEG of another `quality` (other bytes, the same face), uploaded and processed."""
    buffer = io.BytesIO()
    Image.open(source).save(buffer, "JPEG", quality=quality)
    token = next(cookie["value"] for cookie in page.context.cookies() if cookie["name"] == "csrftoken")
    response = page.request.post(
        "/api/photos/",
        multipart={
            "file": {"name": f"copy_q{quality}.jpg", "mimeType": "image/jpeg", "buffer": buffer.getvalue()},
            "library": str(library),
        },
        headers={"X-CSRFToken": token},
    )
    assert response.status == 201, response.text()
    photo_id = response.json()["id"]
    for _ in range(300):
        photo = api_call(page, "GET", f"/api/photos/{photo_id}/")
        if photo["status"] in ("done", "failed"):
            return photo
        page.wait_for_timeout(500)
    raise AssertionError(f"photo {photo_id} was not processed")


def test_automatic_matches_are_confirmed_in_bulk_on_the_persons_page(
    sized: tuple[Page, str], library: dict, lfw_dir: Path
) -> None:
    page, size = sized
    page.goto("/photos/")
    choose(page, library["id"])
    reset(page, library)
    enrolled = library["photos"]["Colin_Powell_0001.jpg"]["faces"][0]["id"]
    powell = api_call(page, "POST", "/api/people/", {"name": "Colin Powell", "library": library["id"]})
    api_call(page, "POST", f"/api/people/{powell['id']}/faces/", {"face_ids": [enrolled]})
    quality = {"desktop": 70, "phone": 60}[size]  # other bytes at each size: a new photo each time
    copy = upload_copy(page, library["id"], lfw_file(lfw_dir, "Colin_Powell_0001.jpg"), quality)
    try:
        (face,) = copy["faces"]
        assert (face["person"]["id"], face["assignment"]) == (powell["id"], "automatic")  # named at ingest

        page.goto(f"/people/{powell['id']}/#faces")
        expect(page.locator("#face-grid > li")).to_have_count(2)
        page.get_by_label("Select all").check()
        confirm = page.get_by_role("button", name="Confirm 1 automatic match")
        expect(confirm).to_be_visible()
        confirm.click()
        expect(page.locator(".toast").last).to_contain_text("1 face confirmed as Colin Powell")
        expect(page.locator(f'#face-grid > li[data-face-id="{face["id"]}"]')).to_have_attribute(
            "data-assignment", "enrolled"
        )
        assert api_call(page, "GET", f"/api/faces/{face['id']}/")["assignment"] == "enrolled"
        assert api_call(page, "GET", f"/api/faces/{enrolled}/")["person"]["id"] == powell["id"]  # only his: kept
    finally:
        api_call(page, "DELETE", f"/api/photos/{copy['id']}/")


def test_the_viewer_steps_through_the_grid_with_the_arrow_keys_and_escape_goes_back(
    sized: tuple[Page, str], library: dict
) -> None:
    page, _ = sized
    page.goto("/photos/?show=unnamed")
    choose(page, library["id"])
    reset(page, library)
    page.goto("/photos/?show=unnamed")
    cards = page.locator("#photo-grid > li[data-photo-id]")
    expect(cards).to_have_count(len(library["photos"]))
    ids = [int(i) for i in cards.evaluate_all("cards => cards.map((c) => c.dataset.photoId)")]
    cards.nth(1).locator("a").click()
    expect(page).to_have_url(re.compile(f"/photos/{ids[1]}/$"))
    expect(page.locator("#photo-position")).to_have_text(f"2 of {len(ids)}")
    page.locator("#photo-image").wait_for()
    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(re.compile(f"/photos/{ids[2]}/$"))
    expect(page.locator("#photo-position")).to_have_text(f"3 of {len(ids)}")  # the page is ready for keys
    page.keyboard.press("ArrowLeft")
    expect(page).to_have_url(re.compile(f"/photos/{ids[1]}/$"))
    expect(page.locator("#photo-position")).to_have_text(f"2 of {len(ids)}")
    page.keyboard.press("ArrowLeft")
    expect(page).to_have_url(re.compile(f"/photos/{ids[0]}/$"))
    expect(page.locator("#photo-position")).to_have_text(f"1 of {len(ids)}")  # the page is ready for keys
    expect(page.locator("#photo-prev")).to_be_hidden()

    # Zoom: the photo shows 2.5 times as wide in a scrolling frame, its face boxes stay on the faces (in % of the
    # photo); Escape first leaves the zoom, then the photo.
    stage, box = page.locator("#stage"), page.locator("#stage .facebox").first
    expect(box).to_be_visible()
    fitted, box_fitted = stage.bounding_box(), box.bounding_box()
    page.get_by_role("button", name="Zoom").click()
    expect(page.get_by_role("button", name="Fit")).to_have_attribute("aria-pressed", "true")
    zoomed, box_zoomed = stage.bounding_box(), box.bounding_box()
    assert abs(zoomed["width"] / fitted["width"] - 2.5) < 0.02

    def share(box: dict, stage: dict, key: str, size: str) -> float:  # where a box sits, as a share of the photo
        return (box[key] - stage[key]) / stage[size]

    assert abs(share(box_zoomed, zoomed, "x", "width") - share(box_fitted, fitted, "x", "width")) < 0.01
    assert abs(share(box_zoomed, zoomed, "y", "height") - share(box_fitted, fitted, "y", "height")) < 0.01
    assert abs(box_zoomed["width"] / zoomed["width"] - box_fitted["width"] / fitted["width"]) < 0.01
    page.keyboard.press("Escape")
    expect(page.get_by_role("button", name="Zoom")).to_have_attribute("aria-pressed", "false")
    assert abs(stage.bounding_box()["width"] - fitted["width"]) < 1
    page.keyboard.press("z")
    expect(page.get_by_role("button", name="Fit")).to_be_visible()
    page.keyboard.press("Escape")

    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(r"/photos/\?show=unnamed$"))
    expect(page.get_by_label("Show", exact=True)).to_have_value("unnamed")


def test_one_upload_of_many_files_is_one_job_and_refused_files_are_not_offered_a_retry(
    sized: tuple[Page, str], library: dict, lfw_dir: Path
) -> None:
    page, size = sized
    page.goto("/photos/")
    choose(page, library["id"])
    folder = library["folder"] / size
    folder.mkdir()
    files = []
    for n in range(23):  # more than one request's worth (20): the same bytes as a stored photo, so nothing to process
        copy = folder / f"copy_{n:02}.jpg"
        shutil.copy(lfw_file(lfw_dir, "Colin_Powell_0001.jpg"), copy)
        files.append(copy)
    notes = folder / "notes.jpg"
    notes.write_text("not an image\n")
    before = {job["id"] for job in api_call(page, "GET", f"/api/jobs/?library={library['id']}")["results"]}
    page.get_by_label("Photos to upload").set_input_files([*files, notes])
    expect(page.locator('.upload-item[data-state="skipped"]')).to_have_count(23, timeout=60_000)
    expect(page.locator('.upload-item[data-state="failed"]')).to_have_count(1)
    jobs = [job for job in api_call(page, "GET", f"/api/jobs/?library={library['id']}")["results"]
            if job["id"] not in before]  # fmt: skip
    assert [(job["total"], job["skipped"], job["failed"], job["retryable"]) for job in jobs] == [(24, 23, 1, 0)]

    page.goto("/jobs/")
    job = page.locator(f'.job[data-job-id="{jobs[0]["id"]}"]')
    expect(job).to_contain_text("24 items")
    expect(job.get_by_role("button", name=re.compile("Retry"))).to_have_count(0)
    expect(job.locator(".job-refused")).to_contain_text("1 file refused")
    screenshot(page, f"photo-manager-jobs-{size}")


def test_bulk_delete_removes_the_selected_photos(sized: tuple[Page, str], library: dict, lfw_dir: Path) -> None:
    """Last: it deletes a photo of the module's library (a different one at each size)."""
    page, size = sized
    page.goto("/photos/")
    choose(page, library["id"])
    name = {"desktop": "Colin_Powell_0003.jpg", "phone": "Colin_Powell_0002.jpg"}[size]
    cards = page.locator("#photo-grid > li[data-photo-id]")
    shown = api_call(page, "GET", f"/api/photos/?library={library['id']}")["count"]
    expect(cards).to_have_count(shown)
    page.get_by_label(f"Select {name}").check()
    page.locator("#selection-delete").click()
    accept_dialog(page, "Delete 1 photo")
    expect(cards).to_have_count(shown - 1)
    expect(page.locator("#photo-grid > li", has_text=name)).to_have_count(0)
    left = api_call(page, "GET", f"/api/photos/?library={library['id']}")["results"]
    assert name not in {photo["original_name"] for photo in left}
