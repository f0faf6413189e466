"""Corrections that can be undone, in the browser: a merge made on the person page shows in its history and is undone
from there (the other person comes back with their face); the Split panel offers the face of someone else among a
person's faces (real LFW photos: George W Bush's three and one of Colin Powell) and moves it to a new person.

The module works in a library of its own (created, chosen in the bar, filled through the API, deleted at the end).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import accept_dialog, api_call, choose, lfw_file, library_with_photos, screenshot

pytestmark = pytest.mark.slow

LIBRARY = "Undo and split"
PHOTOS = [
    "George_W_Bush_0001.jpg", "George_W_Bush_0002.jpg", "George_W_Bush_0003.jpg", "Colin_Powell_0001.jpg",
    "Colin_Powell_0002.jpg", "Colin_Powell_0003.jpg",
]  # fmt: skip


@pytest.fixture(scope="module")
def faces(browser: Browser, live_url: str, signed_in_state: Path, lfw_dir: Path) -> Iterator[dict]:
    """LIBRARY with the PHOTOS processed, nobody named: `{"library": id, "faces": {photo name: face id}}`."""
    files = [lfw_file(lfw_dir, name) for name in PHOTOS]
    with library_with_photos(browser, live_url, signed_in_state, LIBRARY, files) as (_, library, photos):
        by_name = {}
        for name, photo in photos.items():
            (face,) = photo["faces"]
            by_name[name] = face["id"]
        yield {"library": library, "faces": by_name}


def person(page: Page, library: int, name: str, face_ids: list[int]) -> int:
    created = api_call(page, "POST", "/api/people/", {"name": name, "library": library})
    api_call(page, "POST", f"/api/people/{created['id']}/faces/", {"face_ids": face_ids})
    return created["id"]


def test_a_merge_is_in_the_history_and_undone_from_it(page: Page, faces: dict) -> None:
    page.goto("/people/")
    powell = person(page, faces["library"], "Colin Powell", [faces["faces"]["Colin_Powell_0001.jpg"]])
    again = person(page, faces["library"], "Powell again", [faces["faces"]["Colin_Powell_0002.jpg"]])
    page.goto(f"/people/{powell}/")
    choose(page, faces["library"])
    expect(page.locator("#history-list > li")).to_have_count(1)
    expect(page.locator("#history-list > li").first).to_contain_text("enrolled")

    page.get_by_label("Merge in").select_option(str(again))
    page.get_by_role("button", name="Merge", exact=True).click()
    accept_dialog(page, "Merge")
    expect(page.locator("#person-meta")).to_have_text("2 faces")
    merged = page.locator('#history-list > li[data-how="merge"]')
    expect(merged).to_contain_text("Powell again merged in (1 face)")
    screenshot(page, "person-history-merge")

    merged.get_by_role("button", name="Undo the merge of Powell again").click()
    accept_dialog(page, "Undo merge")
    expect(page.locator(".toast").last).to_contain_text("Powell again is back with 1 face")
    expect(page.locator("#person-meta")).to_have_text("1 face")
    expect(merged).to_contain_text("since undone")
    expect(merged.get_by_role("button", name="Undo the merge of Powell again")).to_have_count(0)
    expect(page.locator('#history-list > li[data-how="unmerge"]')).to_contain_text("Merge of Powell again undone")
    back = api_call(page, "GET", f"/api/people/{again}/faces/")["results"]
    assert [face["id"] for face in back] == [faces["faces"]["Colin_Powell_0002.jpg"]]

    # The person given back sees it from their side, with nothing to undo.
    page.goto(f"/people/{again}/")
    expect(page.locator('#history-list > li[data-how="merge"]')).to_contain_text("Merged into Colin Powell (1 face)")
    expect(page.locator('#history-list > li[data-how="unmerge"]')).to_contain_text("Given back by undoing that merge")
    expect(page.get_by_role("button", name="Undo the merge of Powell again")).to_have_count(0)


def test_the_split_panel_moves_the_face_of_someone_else_to_a_new_person(page: Page, faces: dict) -> None:
    bush = [faces["faces"][f"George_W_Bush_000{n}.jpg"] for n in (1, 2, 3)]
    powell = faces["faces"]["Colin_Powell_0003.jpg"]
    page.goto("/people/")
    mixed = person(page, faces["library"], "George W Bush", [*bush, powell])
    page.goto(f"/people/{mixed}/")
    choose(page, faces["library"])
    expect(page.locator("#person-meta")).to_have_text("4 faces")

    page.get_by_role("button", name="Find faces that look like someone else").click()
    groups = page.locator("#split-groups > li")
    expect(groups).to_have_count(1)
    expect(groups.first.locator("input[type=checkbox]")).to_have_count(1)
    expect(groups.first.locator(f'input[value="{powell}"]')).to_have_count(1)
    screenshot(page, "person-split")

    groups.first.locator(f'input[value="{powell}"]').check()
    page.get_by_label("Move the ticked faces to").fill("Colin Powell (split)")
    page.get_by_role("button", name="Move 1 face").click()
    expect(page.locator(".toast").last).to_contain_text("1 face moved to Colin Powell (split)")
    expect(page.locator("#person-meta")).to_have_text("3 faces")
    expect(page.locator("#split-note")).to_contain_text("All 3 faces look like one person")
    expect(page.locator('#history-list > li[data-how="split"]')).to_contain_text(f"Face {powell} split off")
    people = api_call(page, "GET", f"/api/people/?library={faces['library']}&search=split")["results"]
    assert [(p["name"], p["face_count"]) for p in people] == [("Colin Powell (split)", 1)]
