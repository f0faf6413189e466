"""The web UI in a real browser: sign in, upload real LFW photos, search by photo, name faces, merge people, jobs.

One module-scoped library of photos is uploaded through the Photos page and processed by the real worker; the
tests after it read and change it through the pages, asserting relative to what they find, so each stands alone.
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import DESKTOP, PASSWORD, USERNAME, accept_dialog, api_call, lfw_file, screenshot, sign_in

pytestmark = pytest.mark.slow

LIBRARY = {
    "George_W_Bush": ["George_W_Bush_0001.jpg", "George_W_Bush_0002.jpg", "George_W_Bush_0003.jpg"],
    "Colin_Powell": ["Colin_Powell_0001.jpg", "Colin_Powell_0002.jpg"],
    # one face each: YuNet boxes a second, smaller face in Tony_Blair_0001
    "Tony_Blair": ["Tony_Blair_0002.jpg", "Tony_Blair_0003.jpg"],
}
QUERY = "George_W_Bush/George_W_Bush_0010.jpg"  # not in the library
SEARCH_TIMEOUT = 60_000
PROCESSING_TIMEOUT = 150_000
NOT_AN_IMAGE = re.compile(r"not an image")


def photos_by_name(page: Page) -> dict[str, dict]:
    """The stored photos through the API (the page's own session), keyed by file name."""
    response = page.request.get("/api/photos/?page_size=500")
    assert response.ok, response.text()
    return {photo["original_name"]: photo for photo in response.json()["results"]}


def unassigned_face_ids(page: Page) -> set[int]:
    response = page.request.get("/api/faces/?unassigned=true&page_size=500")
    return {face["id"] for face in response.json()["results"]}


def face_of(page: Page, name: str) -> int:
    (face,) = photos_by_name(page)[name]["faces"]
    return face["id"]


DATA_TRANSFER = """([event, target, files]) => {
    const data = new DataTransfer();
    for (const [name, type, b64] of files) {
        data.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type }));
    }
    const init = { bubbles: true, cancelable: true };
    const element = target ? document.querySelector(target) : document;
    element.dispatchEvent(event === "paste"
        ? new ClipboardEvent("paste", { ...init, clipboardData: data })
        : new DragEvent("drop", { ...init, dataTransfer: data }));
}"""


def _file(path: Path) -> list[str]:
    type_ = "image/jpeg" if path.read_bytes()[:2] == b"\xff\xd8" else "text/plain"
    return [path.name, type_, base64.b64encode(path.read_bytes()).decode()]


def paste(page: Page, path: Path) -> None:
    """What Ctrl+V of a copied image does: a paste event on the document carrying the file."""
    page.evaluate(DATA_TRANSFER, ["paste", None, [_file(path)]])


def drop(page: Page, selector: str, paths: list[Path]) -> None:
    """What dropping files from the desktop does: a drop event on `selector` carrying them."""
    page.evaluate(DATA_TRANSFER, ["drop", selector, [_file(path) for path in paths]])


@pytest.fixture(scope="module")
def library(browser: Browser, live_url: str, signed_in_state: Path, lfw_dir: Path) -> dict:
    """The LIBRARY photos uploaded at once through the Photos page, followed until the worker has done them all.

    Returns what the upload list showed per file at the end ({name: (state, text, progress)}) and the photos.
    """
    context = browser.new_context(base_url=live_url, storage_state=str(signed_in_state), viewport=DESKTOP)
    page = context.new_page()
    page.goto("/photos/")
    files = [lfw_file(lfw_dir, name) for names in LIBRARY.values() for name in names]
    page.get_by_label("Photos to upload").set_input_files(files)
    rows = page.locator(".upload-item")
    expect(rows).to_have_count(len(files))
    expect(page.locator('.upload-item[data-state="processing"], .upload-item[data-state="done"]')).to_have_count(
        len(files), timeout=30_000
    )
    screenshot(page, "photos-uploading")
    expect(page.locator('.upload-item[data-state="done"]')).to_have_count(len(files), timeout=PROCESSING_TIMEOUT)
    shown = {
        row.get_attribute("data-name"): (
            row.get_attribute("data-state"),
            row.locator(".upload-state").inner_text(),
            row.locator("progress").evaluate("bar => bar.value"),
        )
        for row in rows.all()
    }
    photos = photos_by_name(page)
    context.close()
    return {"rows": shown, "photos": photos}


def test_anonymous_visitor_is_sent_to_the_sign_in_page(browser: Browser, live_url: str) -> None:
    context = browser.new_context(base_url=live_url, viewport=DESKTOP)
    page = context.new_page()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    expect(page.get_by_label("Username")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_visible()
    screenshot(page, "sign-in")
    assert page.request.get("/api/photos/").status in (401, 403)  # the API, too, wants a user
    context.close()


def test_sign_in_rejects_a_wrong_password_then_signs_in_and_out(browser: Browser, live_url: str) -> None:
    context = browser.new_context(base_url=live_url, viewport=DESKTOP)
    page = context.new_page()
    sign_in_page = page.goto("/login/")
    assert sign_in_page.ok
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("didn't match")

    sign_in(page, USERNAME, PASSWORD)
    expect(page.get_by_role("heading", name="Search by photo")).to_be_visible()
    page.locator(".usermenu summary").click()  # the account menu: API docs, Admin (staff only), Sign out
    expect(page.get_by_role("link", name="API docs")).to_be_visible()
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    page.goto("/photos/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/photos/$"))
    context.close()


def test_uploaded_photos_show_progress_per_file_and_their_faces_once_processed(page: Page, library: dict) -> None:
    names = [name for names in LIBRARY.values() for name in names]
    assert library["rows"] == {name: ("done", "Done · 1 face", 100) for name in names}
    assert {name: (photo["status"], len(photo["faces"])) for name, photo in library["photos"].items()} == {
        name: ("done", 1) for name in names
    }

    page.goto("/photos/")
    for name in names:
        card = page.locator("#photo-grid > li", has_text=name)
        expect(card).to_have_count(1)
        expect(card.locator("img")).to_have_attribute("loading", "lazy")
        expect(card).to_contain_text("1 face")
    screenshot(page, "photos")

    page.goto("/jobs/")
    job = page.locator(".job", has_text="Upload").filter(has_text=f"{len(names)} done").first
    expect(job).to_contain_text("100%")
    expect(job.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")


def test_search_by_photo_ranks_the_same_persons_photos_first(page: Page, library: dict, lfw_dir: Path) -> None:
    page.goto("/")
    page.get_by_label("Photo to search with").set_input_files(lfw_file(lfw_dir, QUERY.split("/")[1]))
    shown = page.locator("#results .result:not([hidden])")
    expect(shown.first).to_be_visible(timeout=SEARCH_TIMEOUT)
    expect(page.locator("#query-stage .facebox")).to_have_count(1)
    expect(page.locator("#query-hint")).to_have_text("One face found.")

    # Normal (the encoder's 1:1 threshold): exactly his three photos, nearest first, in words a person reads.
    ranked = shown.locator(".match-file").all_inner_texts()
    assert sorted(ranked) == LIBRARY["George_W_Bush"], ranked
    distances = [float(d) for d in shown.evaluate_all("items => items.map(item => item.dataset.distance)")]
    assert distances == sorted(distances)
    expect(shown.first.locator(".closeness")).to_contain_text("the same person")
    expect(page.locator(".results-panel")).not_to_contain_text("cosine")
    screenshot(page, "search")

    # Strict / Normal / Loose filter live: Loose shows more, his photos still first; Strict never more than Normal.
    page.get_by_label("Loose").check()
    expect(page.locator("#results-summary")).to_contain_text("weaker hidden")  # the API returns more, up to 1.4
    assert shown.count() >= 3
    assert sorted(shown.locator(".match-file").all_inner_texts()[:3]) == LIBRARY["George_W_Bush"]
    page.get_by_label("Strict").check()
    assert shown.count() <= 3
    page.get_by_text("The numbers").click()
    expect(page.locator("#threshold-details")).to_contain_text("pairs of different people are that close")
    page.get_by_label("Loose").check()

    # A result opens its photo, with the matching face picked out.
    first_name = shown.first.locator(".match-file").inner_text()
    shown.first.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/photos/\d+/\?face=\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(first_name)
    expect(page.locator("#stage .facebox.is-active")).to_have_count(1)


def test_search_explains_a_non_image_and_a_photo_without_a_face(page: Page, tmp_path: Path) -> None:
    text = tmp_path / "minutes.txt"
    text.write_text("meeting notes, not a photo")
    page.goto("/")
    page.get_by_label("Photo to search with").set_input_files(text)  # refused before it is sent, with no preview
    expect(page.locator("#search-error")).to_contain_text("minutes.txt is not a photo")
    expect(page.get_by_role("button", name="Search another photo")).to_be_hidden()

    notes = tmp_path / "notes.jpg"
    notes.write_text("meeting notes, not a photo")
    page.get_by_label("Photo to search with").set_input_files(notes)
    expect(page.locator("#search-error")).to_contain_text(NOT_AN_IMAGE, timeout=SEARCH_TIMEOUT)

    sky = tmp_path / "sky.jpg"
    gradient = np.tile(np.linspace(60, 200, 240, dtype=np.uint8), (240, 1))
    buffer = io.BytesIO()
    Image.fromarray(np.stack([gradient] * 3, axis=-1)).save(buffer, "JPEG")
    sky.write_bytes(buffer.getvalue())
    page.get_by_role("button", name="Search another photo").click()
    paste(page, sky)
    expect(page.locator("#search-error")).to_have_text("No face was found in the image.", timeout=SEARCH_TIMEOUT)


def test_non_image_upload_is_refused_with_a_visible_message_and_nothing_stored(
    page: Page, library: dict, lfw_dir: Path, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.jpg"
    notes.write_text("meeting notes, not a photo")
    before = photos_by_name(page)
    page.goto("/photos/")
    page.get_by_label("Photos to upload").set_input_files(notes)
    row = page.locator(".upload-item", has_text="notes.jpg")
    expect(row).to_have_attribute("data-state", "failed")
    expect(row.get_by_role("alert")).to_be_visible()
    expect(row.get_by_role("alert")).to_contain_text(NOT_AN_IMAGE)
    assert photos_by_name(page).keys() == before.keys()

    # In a batch with a good photo, the bad file fails alone; the Jobs page gives its reason.
    good = lfw_file(lfw_dir, "Serena_Williams_0001.jpg")
    drop(page, "#upload-drop", [good, notes])
    expect(page.locator('.upload-item[data-state="done"]', has_text=good.name)).to_have_count(
        1, timeout=PROCESSING_TIMEOUT
    )
    expect(page.locator('.upload-item[data-state="failed"]', has_text="notes.jpg")).to_have_count(2)
    page.goto("/jobs/")
    job = page.locator(".job").first
    expect(job).to_contain_text("1 done")
    expect(job).to_contain_text("1 failed")
    job.get_by_text("1 failed item: reasons").click()
    expect(job.locator(".failures")).to_contain_text("notes.jpg")
    expect(job.locator(".failures")).to_contain_text(NOT_AN_IMAGE)
    screenshot(page, "jobs")
    # A refused upload was never stored: no retry is offered for it, and the job says why.
    expect(job.get_by_role("button", name=re.compile("Retry"))).to_have_count(0)
    expect(job.locator(".job-refused")).to_contain_text("1 file refused")


def test_faces_are_named_on_a_photo_and_the_person_renamed_and_corrected(page: Page, library: dict) -> None:
    photos = photos_by_name(page)
    powell = photos["Colin_Powell_0001.jpg"]
    page.goto(f"/photos/{powell['id']}/")
    row = page.locator(".face-row")
    expect(row).to_have_count(1)
    expect(page.locator("#stage .facebox")).to_have_count(1)
    row.get_by_label("Name face 1").fill("Colin Powell")
    row.get_by_label("Name face 1").press("Enter")  # a new name: the person is created
    expect(page.locator("#stage .facebox-label")).to_have_text("Colin Powell")
    expect(row.get_by_role("link", name="Colin Powell")).to_be_visible()
    screenshot(page, "photo")

    # A wrong face, given to him by mistake on another photo...
    blair = photos["Tony_Blair_0003.jpg"]
    page.goto(f"/photos/{blair['id']}/")
    page.locator(".face-row").get_by_label("Name face 1").fill("Colin")
    page.get_by_role("option", name="Colin Powell").click()  # offered as the name is typed
    expect(page.locator("#stage .facebox-label")).to_have_text("Colin Powell")

    # ...is removed on his page, and he is renamed there.
    page.get_by_role("link", name="Colin Powell").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Colin Powell")
    expect(page.locator("#person-meta")).to_have_text("2 faces")
    page.get_by_role("tab", name=re.compile("Faces")).click()
    blair_face = blair["faces"][0]["id"]
    page.locator(f'#face-grid > li[data-face-id="{blair_face}"]').get_by_role("button", name="Remove").click()
    expect(page.locator("#person-meta")).to_have_text("1 face")
    expect(page.locator("#face-grid > li")).to_have_count(1)
    assert blair_face in unassigned_face_ids(page)
    page.get_by_label("Name", exact=True).fill("Colin L. Powell")
    page.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Colin L. Powell")


def test_unknown_faces_are_named_in_bulk_and_two_people_merged_then_deleted(page: Page, library: dict) -> None:
    bush = {name: face_of(page, name) for name in LIBRARY["George_W_Bush"]}
    first, _, third = bush.values()
    page.goto("/faces/unknown/")
    for face_id in bush.values():
        expect(page.locator(f'#face-grid > li[data-face-id="{face_id}"]')).to_have_count(1)
    shown_before = page.locator("#face-grid > li").count()
    checked = page.locator("#face-grid input:checked")
    bulk = page.locator("#bulk-form")

    # "Select similar" ticks the faces the search API finds within the threshold: his three, nobody else's.
    card = {face_id: page.locator(f'#face-grid > li[data-face-id="{face_id}"]') for face_id in bush.values()}
    # Screen readers hear a face's place in the grid, never its database id.
    expect(card[first].locator("input")).to_have_attribute("aria-label", re.compile(r"^Select unknown face \d+$"))
    card[first].get_by_role("button", name=re.compile(r"^Select the faces similar to unknown face \d+$")).click()
    expect(page.locator("#selected-count")).to_have_text("3 selected")
    assert {int(v) for v in checked.evaluate_all("boxes => boxes.map(b => b.value)")} == set(bush.values())
    card[third].locator("input").uncheck()
    bulk.get_by_label("Person", exact=True).fill("George W. Bush")
    screenshot(page, "unknown-faces")
    bulk.get_by_role("button", name="Assign 2 faces").click()
    expect(page.locator(".toast").last).to_contain_text("2 faces assigned to George W. Bush")

    card[third].locator("input").check()
    # Shift-click sets every face from the last one clicked to this one alike: a range ticked, then unticked.
    boxes = page.locator("#face-grid > li input[type=checkbox]")
    values = boxes.evaluate_all("boxes => boxes.map(b => Number(b.value))")
    assert len(values) >= 3
    at = values.index(third)
    other = at + 2 if at + 2 < len(values) else at - 2
    boxes.nth(other).click(modifiers=["Shift"])
    expect(page.locator("#selected-count")).to_have_text("3 selected")
    low, high = sorted((at, other))
    assert sorted(int(v) for v in checked.evaluate_all("b => b.map(x => x.value)")) == sorted(values[low : high + 1])
    card[third].locator("input").click(modifiers=["Shift"])  # unticks his face, and so the range back to `other`
    expect(page.locator("#selected-count")).to_have_text("0 selected")
    card[third].locator("input").check()
    bulk.get_by_label("Person", exact=True).fill("George Bush")
    bulk.get_by_label("Person", exact=True).press("Escape")  # "George W. Bush" is offered: a new name is meant
    bulk.get_by_role("button", name="Assign 1 face").click()
    expect(page.locator(".toast").last).to_contain_text("1 face assigned to George Bush")
    expect(page.locator("#face-grid > li")).to_have_count(shown_before - 3)
    assert not set(bush.values()) & unassigned_face_ids(page)

    page.goto("/people/")
    for name, count in (("George W. Bush", "2 faces"), ("George Bush", "1 face")):
        expect(page.locator(".person-card", has_text=name).filter(has_text=count)).to_have_count(1)
    screenshot(page, "people")

    page.locator(".person-card", has_text="George W. Bush").click()
    page.get_by_label("Merge in").select_option(label="George Bush (1 face)")
    page.get_by_role("button", name="Merge").click()
    accept_dialog(page, "Merge")
    expect(page.locator("#person-meta")).to_have_text("3 faces")
    page.get_by_role("tab", name=re.compile("Faces")).click()
    expect(page.locator("#face-grid > li")).to_have_count(3)
    screenshot(page, "person")
    page.goto("/people/")
    expect(page.locator(".person-card", has_text="George Bush")).to_have_count(0)
    expect(page.locator(".person-card", has_text="George W. Bush")).to_contain_text("3 faces")

    # Deleting the person leaves the faces, unknown again.
    page.locator(".person-card", has_text="George W. Bush").click()
    page.get_by_role("button", name="Delete person").click()
    accept_dialog(page, "Delete person")
    expect(page).to_have_url(re.compile(r"/people/$"))
    expect(page.locator(".person-card", has_text="George W. Bush")).to_have_count(0)
    assert set(bush.values()) <= unassigned_face_ids(page)


def test_suggested_people_group_a_persons_unknown_faces_under_the_enrolled_look_alike(
    page: Page, library: dict
) -> None:
    first, *others = (face_of(page, name) for name in LIBRARY["George_W_Bush"])
    for face_id in (first, *others):  # whatever earlier tests did with his faces: all unknown
        api_call(page, "PATCH", f"/api/faces/{face_id}/", {"person": None})
    person = api_call(page, "POST", "/api/people/", {"name": "G. W. Bush"})
    api_call(page, "POST", f"/api/people/{person['id']}/faces/", {"face_ids": [first]})

    page.goto("/faces/unknown/")
    card = page.locator(".suggestion", has=page.locator(f'input[value="{others[0]}"]'))
    expect(card).to_have_count(1)
    expect(card).to_contain_text("Looks like G. W. Bush")
    assert {
        int(v) for v in card.locator("input[type=checkbox]:checked").evaluate_all("bs => bs.map(b => b.value)")
    } == set(others)
    expect(card.get_by_label("Name as")).to_have_value("G. W. Bush")
    screenshot(page, "suggested-people")
    card.get_by_role("button", name=f"Assign {len(others)} faces").click()
    expect(page.locator(".toast").last).to_contain_text(f"{len(others)} faces assigned to G. W. Bush")
    expect(page.locator(f'.suggestion input[value="{others[0]}"]')).to_have_count(0)
    expect(page.locator(f'#face-grid > li[data-face-id="{others[0]}"]')).to_have_count(0)
    assert not set(others) & unassigned_face_ids(page)

    api_call(page, "DELETE", f"/api/people/{person['id']}/")  # his faces unknown again for the other tests


def test_a_new_photo_of_an_enrolled_person_is_named_automatically_and_confirmed(page: Page, lfw_dir: Path) -> None:
    first = face_of(page, LIBRARY["George_W_Bush"][0])
    person = api_call(page, "POST", "/api/people/", {"name": "George Walker Bush"})
    api_call(page, "POST", f"/api/people/{person['id']}/faces/", {"face_ids": [first]})

    page.goto("/photos/")
    page.get_by_label("Photos to upload").set_input_files(lfw_file(lfw_dir, "George_W_Bush_0004.jpg"))
    expect(page.locator('.upload-item[data-state="done"]')).to_have_count(1, timeout=PROCESSING_TIMEOUT)
    photo = photos_by_name(page)["George_W_Bush_0004.jpg"]
    page.goto(f"/photos/{photo['id']}/")
    row = page.locator(".face-row")
    expect(row).to_contain_text("George Walker Bush")
    expect(row).to_contain_text("matched automatically")
    screenshot(page, "photo-named-automatically")
    row.get_by_role("button", name="Confirm face 1 is George Walker Bush").click()
    expect(page.locator(".toast").last).to_contain_text("Face 1 confirmed as George Walker Bush")
    expect(row).not_to_contain_text("matched automatically")
    (face,) = photos_by_name(page)["George_W_Bush_0004.jpg"]["faces"]
    assert api_call(page, "GET", f"/api/faces/{face['id']}/")["assignment"] == "manual"

    api_call(page, "DELETE", f"/api/photos/{photo['id']}/")  # the library as it was for the other tests
    api_call(page, "DELETE", f"/api/people/{person['id']}/")


def test_pages_fit_a_phone_screen(
    browser: Browser, live_url: str, signed_in_state: Path, library: dict, lfw_dir: Path
) -> None:
    context = browser.new_context(
        base_url=live_url, storage_state=str(signed_in_state), viewport={"width": 390, "height": 844}, is_mobile=True
    )
    page = context.new_page()
    pages = (
        ("/photos/", "phone-photos"),
        ("/people/", None),
        ("/faces/unknown/", None),
        ("/jobs/", None),
        ("/libraries/", "phone-libraries"),
        ("/audit/", None),
    )
    for path, name in pages:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()
        if name:
            screenshot(page, name)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, f"{path} scrolls sideways"
    page.goto("/")
    page.get_by_label("Photo to search with").set_input_files(lfw_file(lfw_dir, QUERY.split("/")[1]))
    expect(page.locator("#results .result:not([hidden])").first).to_be_visible(timeout=SEARCH_TIMEOUT)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "phone-search")
    context.close()


def test_pages_carry_the_csp_and_swagger_ui_and_the_admin_run_under_it(page: Page) -> None:
    """The `page` fixture fails the test on any CSP violation: Swagger UI's split view and local files must pass."""
    for path in ("/", "/login/", "/api/docs/", "/admin/login/"):
        policy = page.request.get(path).headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, path

    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("facesearch API")
    operation = page.locator("#operations-faces-faces_list")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()  # with the page's session, from this origin
    expect(operation.locator(".live-responses-table tbody .response-col_status")).to_have_text("200")
    screenshot(page, "api-docs", full_page=False)

    page.goto("/admin/login/")
    expect(page.get_by_text("You are authenticated as ada")).to_be_visible()
