"""Libraries in the browser: an owner creates one and shares it, a viewer sees it read-only, API keys shown once and
revoked, the audit log, never-match, and erasures with their receipts.

The owner is the package's signed-in user (ada); the viewer (grace) is made here. The module's library is created,
filled and shared through the pages once, and erased at the end, so the other e2e modules never see it.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.e2e.conftest import (
    DESKTOP,
    PASSWORD,
    accept_dialog,
    api_call,
    create_user,
    lfw_file,
    screenshot,
    sign_in,
    watch_for_errors,
)

pytestmark = pytest.mark.slow

TEAM = "Team photos"
TEAM_PHOTOS = ["Hugo_Chavez_0001.jpg", "Hugo_Chavez_0002.jpg", "Ariel_Sharon_0001.jpg"]
VIEWER = "grace"
PROCESSING_TIMEOUT = 150_000
SEARCH_TIMEOUT = 60_000


def library_card(page: Page, name: str) -> Locator:
    return page.locator(".library", has=page.get_by_role("heading", name=name, exact=True))


def switcher(page: Page) -> Locator:
    return page.get_by_label("Library", exact=True)


@pytest.fixture(scope="module")
def viewer(e2e_env: dict[str, str]) -> str:
    create_user(e2e_env, VIEWER, PASSWORD)
    return VIEWER


@pytest.fixture
def viewer_context(browser: Browser, live_url: str, viewer: str) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=live_url, viewport=DESKTOP)
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture(scope="module")
def team(browser: Browser, live_url: str, signed_in_state: Path, viewer: str, lfw_dir: Path) -> Iterator[dict]:
    """TEAM, created by ada on the Libraries page, chosen in the bar, filled on the Photos page and shared with the
    viewer in the sharing dialog: `{"id", "photos": {name: photo}}`. Erased (through the API) when the module ends."""
    context = browser.new_context(base_url=live_url, storage_state=str(signed_in_state), viewport=DESKTOP)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = watch_for_errors(page)
    page.goto("/libraries/")
    page.get_by_label("New library").fill(TEAM)
    page.get_by_role("button", name="Create", exact=True).click()
    card = library_card(page, TEAM)
    expect(card).to_contain_text("0 photos · 0 faces · 0 people")
    library_id = int(card.get_attribute("data-library-id"))
    card.get_by_role("button", name=f"Use {TEAM}").click()
    expect(switcher(page)).to_have_value(str(library_id))
    expect(library_card(page, TEAM).locator(".badge", has_text="current")).to_be_visible()

    page.goto("/photos/")
    expect(page.locator("#upload-target")).to_have_text(TEAM)
    page.get_by_label("Photos to upload").set_input_files([lfw_file(lfw_dir, name) for name in TEAM_PHOTOS])
    expect(page.locator('.upload-item[data-state="done"]')).to_have_count(len(TEAM_PHOTOS), timeout=PROCESSING_TIMEOUT)

    page.goto("/libraries/")
    library_card(page, TEAM).get_by_role("button", name=f"Share {TEAM}").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Username").fill(VIEWER)
    dialog.get_by_label("Role", exact=True).select_option("viewer")
    dialog.get_by_role("button", name="Share", exact=True).click()
    expect(dialog.locator(f'.member[data-username="{VIEWER}"]')).to_contain_text("viewer")
    dialog.get_by_role("button", name="Close").click()

    photos = api_call(page, "GET", f"/api/photos/?library={library_id}&page_size=100")["results"]
    assert not errors, errors
    yield {"id": library_id, "photos": {photo["original_name"]: photo for photo in photos}}
    if page.request.get(f"/api/libraries/{library_id}/").ok:
        api_call(page, "DELETE", f"/api/libraries/{library_id}/")
    context.close()


def test_owner_creates_a_library_fills_it_and_shares_it(page: Page, team: dict) -> None:
    assert sorted(team["photos"]) == sorted(TEAM_PHOTOS)
    assert {photo["library"] for photo in team["photos"].values()} == {team["id"]}  # uploads went to the chosen one
    page.goto("/libraries/")
    card = library_card(page, TEAM)
    expect(card.locator(".badge").first).to_have_text("owner")
    expect(card).to_contain_text(f"{len(TEAM_PHOTOS)} photos")
    expect(library_card(page, "ada's library")).to_contain_text("personal")

    card.get_by_role("button", name=f"Share {TEAM}").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator(".member")).to_have_count(2)
    expect(dialog.get_by_label(f"Role of {VIEWER}")).to_have_value("viewer")
    screenshot(page, "library-sharing")

    # An unknown user: said beside the field, nothing shared.
    dialog.get_by_label("Username").fill("nobody-by-that-name")
    dialog.get_by_role("button", name="Share", exact=True).click()
    expect(dialog.locator("#share-error")).to_have_text("No such user.")
    expect(dialog.get_by_label("Username")).to_have_attribute("aria-invalid", "true")
    expect(dialog.locator(".member")).to_have_count(2)

    # The last owner cannot step down: said beside her role, which stays.
    own_role = dialog.get_by_label("Role of ada")
    own_role.select_option("viewer")
    expect(dialog.locator('.member[data-username="ada"] .field-error')).to_contain_text("A library needs an owner")
    expect(own_role).to_have_value("owner")

    # A role changes in place; back to viewer for the tests that follow.
    viewer_role = dialog.get_by_label(f"Role of {VIEWER}")
    viewer_role.select_option("editor")
    expect(page.locator(".toast").last).to_contain_text(f"{VIEWER} is now editor of {TEAM}")
    viewer_role.select_option("viewer")
    expect(page.locator(".toast").last).to_contain_text(f"{VIEWER} is now viewer of {TEAM}")
    members = api_call(page, "GET", f"/api/libraries/{team['id']}/members/")["results"]
    assert {member["username"]: member["role"] for member in members} == {"ada": "owner", VIEWER: "viewer"}


def test_viewer_switches_to_the_shared_library_and_sees_it_without_upload_delete_or_naming(
    viewer_context: BrowserContext, team: dict, lfw_dir: Path
) -> None:
    page = viewer_context.new_page()
    errors = watch_for_errors(page)
    sign_in(page, VIEWER, PASSWORD)
    expect(switcher(page)).to_have_value("")  # all libraries until one is chosen
    switcher(page).select_option(label=f"{TEAM} (viewer)")
    page.wait_for_load_state()
    expect(switcher(page)).to_have_value(str(team["id"]))

    page.goto("/photos/")  # the choice persists
    expect(switcher(page)).to_have_value(str(team["id"]))
    for name in TEAM_PHOTOS[:2]:
        expect(page.locator("#photo-grid > li", has_text=name)).to_have_count(1)
    expect(page.get_by_role("button", name="Upload photos…")).to_be_hidden()
    expect(page.locator("#upload-refused")).to_have_text(
        f"You are viewer of {TEAM}: you can see and search its photos, not add to them."
    )
    screenshot(page, "photos-as-viewer")

    page.locator("#photo-grid > li", has_text=TEAM_PHOTOS[0]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TEAM_PHOTOS[0])
    expect(page.locator(".photo-library")).to_have_text(f"{TEAM} (you are viewer: view only)")
    expect(page.locator(".face-row")).to_have_count(1)
    expect(page.locator(".face-row form")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete photo")).to_be_hidden()

    page.goto("/faces/unknown/")
    expect(page.locator("#bulk-form")).to_be_hidden()
    expect(page.locator("#faces-note")).to_contain_text(f"You are viewer of {TEAM}")
    expect(page.locator("#face-grid input[type=checkbox]")).to_have_count(0)

    # Searching is a viewer's right: within the chosen library, his photos first.
    page.goto("/")
    expect(page.locator("#search-scope")).to_have_text(f"Searching {TEAM} only (chosen in the bar).")
    page.get_by_label("Photo to search with").set_input_files(lfw_file(lfw_dir, "Hugo_Chavez_0003.jpg"))
    shown = page.locator("#results .result:not([hidden])")
    expect(shown.first).to_be_visible(timeout=SEARCH_TIMEOUT)
    assert sorted(shown.locator(".match-file").all_inner_texts()[:2]) == TEAM_PHOTOS[:2]

    # The members are hers to read, not to change; she may leave.
    page.goto("/libraries/")
    card = library_card(page, TEAM)
    expect(card.locator(".badge").first).to_have_text("viewer")
    expect(card.get_by_role("button", name=f"Rename {TEAM}")).to_have_count(0)
    expect(card.get_by_role("button", name=f"Delete {TEAM}")).to_have_count(0)
    expect(card.get_by_text("API keys")).to_have_count(0)
    card.get_by_role("button", name=f"Members of {TEAM}").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator(".member")).to_have_count(2)
    expect(dialog.get_by_label("Username")).to_have_count(0)
    expect(dialog.get_by_role("combobox")).to_have_count(0)
    expect(dialog.get_by_role("button", name="Remove ada")).to_have_count(0)
    expect(dialog.get_by_role("button", name=f"Leave {TEAM}")).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    assert not errors, errors


def test_owner_creates_an_api_key_shown_once_and_revokes_it(page: Page, team: dict, live_url: str) -> None:
    page.goto("/libraries/")
    card = library_card(page, TEAM)
    card.get_by_text("API keys", exact=True).click()
    expect(card.get_by_text("No keys yet.")).to_be_visible()
    card.get_by_label("Key name").fill("Photo frame")
    card.get_by_label("search", exact=True).check()
    card.get_by_role("button", name="Create key").click()
    note = card.locator(".new-key")
    expect(note).to_contain_text("Photo frame: copy the key now. You will not see it again.")
    key = card.get_by_label("New key", exact=True).input_value()
    assert re.fullmatch(r"fsk_\w+_\S+", key), key
    card.get_by_role("button", name="Copy the new key").click()
    expect(page.locator(".toast").last).to_contain_text(re.compile(r"The key is copied|Select the key"))
    row = card.locator("tbody tr", has_text="Photo frame")
    expect(row).to_contain_text("read, search")
    expect(row).to_contain_text("never used")
    expect(row).to_contain_text("active")
    screenshot(page, "library-keys")

    # The key reads its library, and only it.
    status, body = with_key(live_url, key, "/api/photos/?page_size=100")
    assert status == 200 and {photo["library"] for photo in body["results"]} == {team["id"]}

    page.reload()
    card = library_card(page, TEAM)
    card.get_by_text("API keys", exact=True).click()
    row = card.locator("tbody tr", has_text="Photo frame")
    expect(row).not_to_contain_text("never used")
    expect(card.locator(".new-key")).to_be_hidden()  # shown once: the page never has it again
    assert key not in page.content()

    row.get_by_role("button", name="Revoke key Photo frame").click()
    accept_dialog(page, "Revoke key")
    expect(row).to_contain_text("revoked")
    expect(row.get_by_role("button")).to_have_count(0)
    assert with_key(live_url, key, "/api/photos/")[0] == 401


def with_key(live_url: str, key: str, path: str) -> tuple[int, dict]:
    """A request as an application with an API key (no session)."""
    request = urllib.request.Request(live_url + path, headers={"Authorization": f"Api-Key {key}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_owner_reads_the_audit_log_with_the_viewers_search(
    page: Page, viewer_context: BrowserContext, team: dict
) -> None:
    viewer_page = viewer_context.new_page()
    sign_in(viewer_page, VIEWER, PASSWORD)
    (face,) = team["photos"][TEAM_PHOTOS[0]]["faces"]
    result = api_call(viewer_page, "POST", "/api/search/", {"face_id": face["id"], "library": team["id"]})
    best = min(match["distance"] for match in result["matches"])

    page.goto("/audit/")
    expect(page.get_by_role("link", name="Audit log")).to_be_visible()  # in the nav: she owns libraries
    expect(page.locator("#audit-scope")).to_contain_text(TEAM)
    page.get_by_label("Kind").select_option("search")
    rows = page.locator("#audit-rows tr")
    expect(page.locator('#audit-rows tr:not([data-kind="search"])')).to_have_count(0)
    expect(rows.first).to_contain_text(VIEWER)  # newest first
    first = rows.first.locator("td")
    expect(first.nth(2)).to_have_text("search")
    expect(first.nth(3)).to_have_text(TEAM)
    expect(first.nth(4)).to_have_text(str(len(result["matches"])))
    expect(first.nth(5)).to_have_text(f"{round(best, 4):.2f}")  # the log keeps 4 places, the page shows 2
    expect(first.nth(6)).to_have_text("succeeded")
    screenshot(page, "audit-log")

    page.get_by_label("Kind").select_option("erasure")
    expect(rows.filter(has_text=VIEWER)).to_have_count(0)


def test_person_marked_never_match_then_erased_with_a_receipt(page: Page, team: dict) -> None:
    name = TEAM_PHOTOS[2]
    (face,) = team["photos"][name]["faces"]
    person = api_call(page, "POST", "/api/people/", {"name": "Ariel Sharon", "library": team["id"]})
    api_call(page, "POST", f"/api/people/{person['id']}/faces/", {"face_ids": [face["id"]]})

    page.goto(f"/people/{person['id']}/")
    expect(page.locator("#person-library")).to_have_text(f"In {TEAM} (you are owner)")
    toggle = page.get_by_role("switch", name="Never match")
    expect(toggle).not_to_be_checked()
    expect(toggle).to_have_accessible_description(re.compile("left out of every search"))
    toggle.check()
    expect(page.locator(".toast").last).to_contain_text("Ariel Sharon is never matched")
    assert api_call(page, "GET", f"/api/people/{person['id']}/")["never_match"] is True
    page.reload()
    expect(page.get_by_role("switch", name="Never match")).to_be_checked()

    page.get_by_role("button", name="Erase…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Erase Ariel Sharon?")
    dialog.get_by_label("Also delete the photos in which they are the only face").check()
    dialog.get_by_role("button", name="Erase", exact=True).click()
    receipt = page.locator("dialog .receipt")
    expect(receipt).to_be_visible()
    expect(page.get_by_role("dialog")).to_contain_text("Ariel Sharon erased")
    expect(receipt.locator(".receipt-removed")).to_have_text("1 person, 1 face, 1 photo")
    expect(receipt.locator(".receipt-verified .badge")).to_have_text("verified")
    screenshot(page, "erasure-receipt")
    page.get_by_role("button", name="Back to People").click()
    expect(page).to_have_url(re.compile(r"/people/$"))
    expect(page.locator(".person-card", has_text="Ariel Sharon")).to_have_count(0)
    assert page.request.get(f"/api/people/{person['id']}/").status == 404
    assert page.request.get(f"/api/photos/{team['photos'][name]['id']}/").status == 404

    page.goto("/libraries/")
    expect(page.locator(".erasure", has_text=f"Person {person['id']}")).to_contain_text("verified")


def test_owner_renames_then_deletes_a_library_after_a_confirm_naming_what_is_erased(page: Page) -> None:
    page.goto("/libraries/")
    page.get_by_label("New library").fill("Scratch")
    page.get_by_role("button", name="Create", exact=True).click()
    card = library_card(page, "Scratch")
    library_id = int(card.get_attribute("data-library-id"))
    api_call(page, "POST", "/api/people/", {"name": "Nobody in particular", "library": library_id})
    page.reload()

    card = library_card(page, "Scratch")
    card.get_by_role("button", name="Rename Scratch").click()
    card.get_by_label("New name").fill("Scratch pad")
    card.get_by_role("button", name="Save").click()
    card = library_card(page, "Scratch pad")
    expect(card).to_contain_text("0 photos · 0 faces · 1 person")
    expect(switcher(page).locator("option", has_text="Scratch pad (owner)")).to_have_count(1)

    card.get_by_role("button", name="Delete Scratch pad").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Delete Scratch pad?")
    expect(dialog).to_contain_text("0 photos, 0 faces, 1 person")
    dialog.get_by_role("button", name="Erase library").click()
    receipt = page.locator("dialog .receipt")
    expect(page.get_by_role("dialog")).to_contain_text("Scratch pad erased")
    expect(receipt.locator(".receipt-removed")).to_have_text(
        "0 photos, 0 faces, 1 person, 0 jobs, 0 API keys, 1 membership"
    )
    expect(receipt.locator(".receipt-verified .badge")).to_have_text("verified")
    page.get_by_role("dialog").get_by_role("button", name="OK").click()
    expect(library_card(page, "Scratch pad")).to_have_count(0)
    expect(switcher(page).locator("option", has_text="Scratch pad")).to_have_count(0)
    assert page.request.get(f"/api/libraries/{library_id}/").status == 404
