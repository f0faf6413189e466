"""Corrections that stick, in the browser: a face removed from a person is listed under "Not them" and no longer
suggested as them; Undo lets it be suggested again; "Not X" on a suggested group rejects the name for its faces; a
hidden person leaves the People page until "Show hidden".

The module works in a library of its own (created, chosen in the bar, filled on the Photos page, deleted at the end),
so the other e2e modules never see its photos or people.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.conftest import api_call, choose, lfw_file, library_with_photos, screenshot

pytestmark = pytest.mark.slow

LIBRARY = "Corrections"
PHOTOS = ["Colin_Powell_0001.jpg", "Colin_Powell_0002.jpg", "Colin_Powell_0003.jpg"]


@pytest.fixture(scope="module")
def powell(browser: Browser, live_url: str, signed_in_state: Path, lfw_dir: Path) -> Iterator[dict]:
    """LIBRARY with Colin Powell's three photos, processed; he is enrolled with photo 1, nobody named 2 and 3 yet.
    `{"library", "person", "faces": [face id of photo 1, 2, 3]}`."""
    files = [lfw_file(lfw_dir, name) for name in PHOTOS]
    with library_with_photos(browser, live_url, signed_in_state, LIBRARY, files) as (page, library, photos):
        faces = []
        for name in PHOTOS:
            (face,) = photos[name]["faces"]
            faces.append(face["id"])
        person = api_call(page, "POST", "/api/people/", {"name": "Colin Powell", "library": library})
        api_call(page, "POST", f"/api/people/{person['id']}/faces/", {"face_ids": faces[:1]})
        yield {"library": library, "person": person["id"], "faces": faces}


def suggestion_of(page: Page, face_id: int) -> Locator:
    return page.locator(".suggestion", has=page.locator(f'input[value="{face_id}"]'))


def test_a_removed_face_is_not_suggested_again_until_undone_and_not_x_rejects_a_suggestion(
    page: Page, powell: dict
) -> None:
    person, (_, second, third) = powell["person"], powell["faces"]
    api_call(page, "POST", f"/api/people/{person}/faces/", {"face_ids": [second]})  # given to him by hand, wrongly
    page.goto(f"/people/{person}/")
    choose(page, powell["library"])
    expect(page.locator("#person-meta")).to_have_text("2 faces")
    expect(page.locator("#rejections")).to_be_hidden()

    # Removing the face says it will not be suggested for him again, and lists it under "Not them".
    page.get_by_role("tab", name=re.compile("Faces")).click()
    page.locator(f'#face-grid > li[data-face-id="{second}"]').get_by_role("button", name="Remove").click()
    expect(page.locator(".toast").last).to_contain_text("will not be suggested for them again")
    expect(page.locator("#person-meta")).to_have_text("1 face")
    rejected = page.locator("#rejection-grid > li")
    expect(rejected).to_have_count(1)
    expect(page.locator(f'#rejection-grid > li[data-face-id="{second}"]')).to_be_visible()
    screenshot(page, "person-not-them")

    # His two unknown photos look like one person, but the group is not named after him: one of them is not him.
    page.goto("/faces/unknown/")
    group = suggestion_of(page, second)
    expect(group).to_have_count(1)
    expect(group.locator(f'input[value="{third}"]')).to_have_count(1)
    expect(group).to_contain_text("One person, not named yet")
    expect(group.get_by_role("button", name="Not Colin Powell")).to_have_count(0)

    # Undo: the face may be him again, and the group is suggested as him.
    page.goto(f"/people/{person}/")
    page.locator(f'#rejection-grid > li[data-face-id="{second}"]').get_by_role("button", name="Undo").click()
    expect(page.locator(".toast").last).to_contain_text("The face may be suggested for Colin Powell again")
    expect(rejected).to_have_count(0)
    expect(page.locator("#rejections")).to_be_hidden()
    page.goto("/faces/unknown/")
    group = suggestion_of(page, second)
    expect(group).to_contain_text("Looks like Colin Powell")

    # "Not Colin Powell" on the group: both faces are recorded as not him, and the group is left unnamed.
    group.get_by_role("button", name="Not Colin Powell").click()
    expect(page.locator(".toast").last).to_contain_text("2 faces will not be suggested as Colin Powell again")
    expect(suggestion_of(page, second)).to_contain_text("One person, not named yet")
    rejections = api_call(page, "GET", f"/api/people/{person}/rejections/")["results"]
    assert {face["id"] for face in rejections} == {second, third}
    page.goto(f"/people/{person}/")
    expect(rejected).to_have_count(2)


def test_a_hidden_person_leaves_the_people_page_until_show_hidden(page: Page, powell: dict) -> None:
    person = powell["person"]
    page.goto(f"/people/{person}/")
    choose(page, powell["library"])
    hide = page.get_by_role("switch", name="Hidden")
    expect(hide).not_to_be_checked()
    hide.check()
    expect(page.locator(".toast").last).to_contain_text("Colin Powell is hidden")
    assert api_call(page, "GET", f"/api/people/{person}/")["hidden"] is True

    page.goto("/people/")
    card = page.locator(".person-card", has_text="Colin Powell")
    expect(page.locator("#people-count")).to_have_text("(0)")
    expect(card).to_have_count(0)
    page.get_by_label("Show hidden").check()
    expect(card).to_have_count(1)
    expect(card.locator(".badge", has_text="hidden")).to_be_visible()
    screenshot(page, "people-show-hidden")

    card.click()
    page.get_by_role("switch", name="Hidden").uncheck()
    expect(page.locator(".toast").last).to_contain_text("Colin Powell is shown again")
    page.goto("/people/")
    expect(page.locator(".person-card", has_text="Colin Powell")).to_have_count(1)
