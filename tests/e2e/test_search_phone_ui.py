"""Search people can read, on a desktop and on a phone: matches grouped by person, the unnamed ones likely to be the
query's person marked so and named from the results page; empty-library and no-face states that say what to do; at
390x844 (a touch screen) the results come up after a search, the top bar slides away on the way down and back on the
way up, buttons and face boxes are at least 44 px, three faces a row, and no "Ctrl+V".

The module works in a library of its own (real LFW photos), so the other e2e modules never see its photos or people.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import api_call, choose, lfw_file, library_with_photos, screenshot, watch_for_errors

pytestmark = pytest.mark.slow

LIBRARY = "Search by person"
POWELL = ["Colin_Powell_0001.jpg", "Colin_Powell_0002.jpg", "Colin_Powell_0003.jpg"]
BUSH = ["George_W_Bush_0001.jpg", "George_W_Bush_0002.jpg"]
OTHERS = ["Serena_Williams_0001.jpg"]
QUERY = "Colin_Powell_0004.jpg"  # not in the library
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
SEARCH_TIMEOUT = 60_000  # ms: the query photo is encoded on a busy 2-core machine
# The smooth scroll has ended (the panel stays put between two looks) with the results panel at the top.
SCROLLED_TO_RESULTS = """() => {
    const top = document.querySelector('.results-panel').getBoundingClientRect().top;
    const still = window.lastPanelTop === top;
    window.lastPanelTop = top;
    return still && top >= 0 && top < 60;
}"""


@pytest.fixture(scope="module")
def powell(browser: Browser, live_url: str, signed_in_state: Path, lfw_dir: Path) -> Iterator[dict]:
    """LIBRARY with three photos of Colin Powell (nobody named), two of George W Bush (named), one of Serena
    Williams: `{"library", "bush", "faces": {file name: face id}}`."""
    files = [lfw_file(lfw_dir, name) for name in POWELL + BUSH + OTHERS]
    with library_with_photos(browser, live_url, signed_in_state, LIBRARY, files) as (page, library, photos):
        faces = {}
        for name, photo in photos.items():
            (face,) = photo["faces"]
            faces[name] = face["id"]
        bush = api_call(page, "POST", "/api/people/", {"name": "George W Bush", "library": library})
        api_call(page, "POST", f"/api/people/{bush['id']}/faces/", {"face_ids": [faces[name] for name in BUSH]})
        yield {"library": library, "bush": bush, "faces": faces}


def open_context(browser: Browser, live_url: str, signed_in_state: Path, *, phone: bool) -> BrowserContext:
    options = {"viewport": PHONE, "has_touch": True, "is_mobile": True} if phone else {"viewport": DESKTOP}
    context = browser.new_context(base_url=live_url, storage_state=str(signed_in_state), **options)
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
def phone_page(browser: Browser, live_url: str, signed_in_state: Path) -> Iterator[Page]:
    """A signed-in page on a 390x844 touch screen; an uncaught error or a CSP violation fails the test."""
    context = open_context(browser, live_url, signed_in_state, phone=True)
    page = context.new_page()
    errors = watch_for_errors(page)
    yield page
    context.close()
    assert not errors, f"JavaScript errors or CSP violations: {errors}"


def search(page: Page, library: int, path: Path) -> None:
    page.goto("/")
    choose(page, library)
    page.get_by_label("Photo to search with").set_input_files(path)
    expect(page.locator("#results .result:not([hidden])").first).to_be_visible(timeout=SEARCH_TIMEOUT)


def group_titles(page: Page) -> list[str]:
    return page.locator(".result-group:not([hidden]) h3").all_inner_texts()


def test_results_are_grouped_by_person_and_named_from_the_results_page(page: Page, powell: dict, lfw_dir: Path) -> None:
    page.set_viewport_size(DESKTOP)
    search(page, powell["library"], lfw_file(lfw_dir, QUERY))

    # His three photos, nobody's yet, come first, marked as likely him; no other face is in their group.
    likely = page.locator(".result-group.is-likely", has_text="Not named yet")
    expect(likely).to_have_count(1)
    expect(likely.locator(".badge.likely")).to_have_text("Likely the same person")
    assert sorted(likely.locator(".match-file").all_inner_texts()) == POWELL
    assert group_titles(page)[0] == "Not named yet"

    page.get_by_label("Loose").check()
    expect(page.locator(".result-group.is-likely")).to_have_count(1)  # weaker ones, if any, are not marked so
    page.get_by_label("Normal").check()
    screenshot(page, "search-grouped")

    # One result named in place: a new name, Enter; it moves under him.
    first = likely.locator(".result").first
    first.get_by_role("button", name="Name match 1").click()
    field = page.get_by_label("Name match 1", exact=True)
    expect(field).to_be_focused()
    field.fill("Colin Powell")
    field.press("Enter")
    expect(page.locator(".toast").last).to_contain_text("1 face named Colin Powell")
    him = page.locator(".result-group", has=page.get_by_role("link", name="Colin Powell"))
    expect(him.locator(".result")).to_have_count(1)
    expect(him.locator(".badge.likely")).to_have_count(1)

    # The rest at once: the group's field already offers him (the nearest named person), one click names them.
    rest = page.locator(".result-group.is-likely", has_text="Not named yet")
    expect(rest.locator(".result")).to_have_count(2)
    expect(rest.get_by_label("Name them")).to_have_value("Colin Powell")
    rest.get_by_role("button", name="Name", exact=True).click()
    expect(him.locator(".result")).to_have_count(3)
    expect(rest).to_have_count(0)
    assert group_titles(page)[0] == "Colin Powell"

    # Loose: weaker matches too, each named one under their own name (Bush's under his), never mixed with others.
    page.get_by_label("Loose").check()
    for group in page.locator(".result-group:not([hidden])", has=page.locator("h3 a")).all():
        title = group.locator("h3").inner_text()
        assert set(group.locator(".result:not([hidden]) .match-name").all_inner_texts()) == {title}, title
    person = him.locator("h3 a").get_attribute("href").strip("/").split("/")[-1]
    named = api_call(page, "GET", f"/api/people/{person}/faces/")["results"]
    assert {face["id"] for face in named} == {powell["faces"][name] for name in POWELL}
    api_call(page, "DELETE", f"/api/people/{person}/")  # as it was, for the other tests


def test_on_a_phone_search_scrolls_to_its_results_and_the_top_bar_gives_way(
    phone_page: Page, powell: dict, lfw_dir: Path
) -> None:
    page = phone_page
    page.goto("/")
    choose(page, powell["library"])
    # Touch words: no "Ctrl+V" to paste with, nothing to drop.
    expect(page.locator("#dropzone")).to_contain_text("Take a photo or choose one")
    assert "Ctrl+V" not in page.locator("#dropzone").inner_text()
    bar = page.locator(".topbar")
    assert bar.bounding_box()["height"] < PHONE["height"] / 8, bar.bounding_box()

    page.get_by_label("Photo to search with").set_input_files(lfw_file(lfw_dir, QUERY))
    results = page.locator("#results .result:not([hidden])")
    expect(results.first).to_be_visible(timeout=SEARCH_TIMEOUT)
    # The page scrolled to the results: the first row is on the first screen, and the bar slid away.
    expect(bar).to_have_class("topbar is-tucked")
    page.wait_for_function("() => document.querySelector('.topbar').getBoundingClientRect().bottom <= 0")
    page.wait_for_function(SCROLLED_TO_RESULTS, polling=250)
    first = results.first.bounding_box()
    assert first["y"] >= 0 and first["y"] + first["height"] <= PHONE["height"], first
    # Three faces a row.
    rows = results.evaluate_all("items => items.slice(0, 3).map((item) => item.getBoundingClientRect().top)")
    assert len(rows) == 3 and len(set(rows)) == 1, rows
    # Hit areas of 44 px at least: the result's buttons, the Strict/Normal/Loose choices, the face boxes.
    for button in page.locator("#results .result:not([hidden]) button").all():
        assert button.bounding_box()["height"] >= 44, button.inner_text()
    assert page.locator(".segmented label").first.bounding_box()["height"] >= 44
    target = page.evaluate(
        """() => [...document.querySelectorAll('#query-stage .facebox')].map((box) => {
            const style = getComputedStyle(box, '::before');
            return Math.min(parseFloat(style.width), parseFloat(style.height));
        })"""
    )
    assert target and min(target) >= 44, target
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "phone-search-results", full_page=False)

    # Up again: the bar comes back.
    page.mouse.wheel(0, -300)
    expect(bar).not_to_have_class("topbar is-tucked")
    page.wait_for_function("() => document.querySelector('.topbar').getBoundingClientRect().top >= 0")


def test_desktop_keeps_its_bar_and_empty_states_say_what_to_do(page: Page, powell: dict, tmp_path: Path) -> None:
    page.set_viewport_size(DESKTOP)
    empty = api_call(page, "POST", "/api/libraries/", {"name": "Nothing here yet"})
    try:
        page.goto("/")
        page.reload()  # the bar lists the new library
        choose(page, empty["id"])
        notice = page.locator("#library-empty")
        expect(notice).to_be_visible()
        expect(notice).to_contain_text("No photos yet")
        expect(notice.get_by_role("link", name="upload some photos")).to_have_attribute("href", "/photos/")
    finally:
        api_call(page, "DELETE", f"/api/libraries/{empty['id']}/")

    choose(page, powell["library"])
    expect(page.locator("#library-empty")).to_be_hidden()
    expect(page.locator("#dropzone")).to_contain_text("paste one (Ctrl+V)")  # a keyboard is at hand
    sky = tmp_path / "sky.jpg"
    gradient = np.tile(np.linspace(60, 200, 240, dtype=np.uint8), (240, 1))
    buffer = io.BytesIO()
    Image.fromarray(np.stack([gradient] * 3, axis=-1)).save(buffer, "JPEG")
    sky.write_bytes(buffer.getvalue())
    page.get_by_label("Photo to search with").set_input_files(sky)
    expect(page.locator("#results-empty")).to_contain_text("No face found in this photo", timeout=SEARCH_TIMEOUT)
    expect(page.locator("#results-empty")).to_contain_text("larger")

    # On a desktop the bar stays put while the page scrolls.
    page.evaluate("document.body.style.minHeight = '3000px'")
    page.mouse.wheel(0, 800)
    page.wait_for_function("() => scrollY > 300")
    page.wait_for_timeout(300)
    expect(page.locator(".topbar")).not_to_have_class("topbar is-tucked")
    assert page.locator(".topbar").bounding_box()["y"] >= 0
