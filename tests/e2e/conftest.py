"""Browser tests: Debian's Chromium, driven by Playwright, against a real gunicorn and a real Celery worker.

The server and its worker run as subprocesses on a database of their own (`<test session db>_e2e`, migrated here),
a Redis database of their own and a data directory of their own: what the browser does is committed for real,
and nothing of it can reach the other tests' database, queue or files, whatever order the tests run in. All of it
lives as long as the tests of this package run (the database is dropped, the processes stopped).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from facesearch import stack
from tests.live_server import drop_database, fresh_database, serving, start_worker, stop, with_path

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
USERNAME = "ada"
PASSWORD = "correct-horse-battery-staple"
DESKTOP = {"width": 1280, "height": 860}
START_TIMEOUT = 180  # the worker and the web server load the networks before they answer


@pytest.fixture(scope="package")
def e2e_env(tmp_path_factory) -> Iterator[dict[str, str]]:
    """The environment of the e2e server and worker: their own database (migrated), Redis db 1, data directory."""
    data_dir = tmp_path_factory.mktemp("e2e-data")
    database_url = fresh_database(os.environ["DATABASE_URL"], "_e2e")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": with_path(os.environ["REDIS_URL"], "/1"),
        "FACESEARCH_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "facesearch.settings",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "--verbosity", "0"], env=env, cwd=ROOT, check=True)
    subprocess.run([*manage, "collectstatic", "--noinput", "--verbosity", "0"], env=env, cwd=ROOT, check=True)
    create_user(env, USERNAME, PASSWORD)
    yield env
    drop_database(database_url)


def create_user(env: dict[str, str], username: str, password: str) -> None:
    """A user of the e2e server (with their personal library, made when the user is), as `createsuperuser` would."""
    create = (
        f"from django.contrib.auth.models import User; User.objects.create_user({username!r}, password={password!r})"
    )
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "shell", "-c", create], env=env, cwd=ROOT, check=True)


@pytest.fixture(scope="package")
def live_url(e2e_env: dict[str, str], tmp_path_factory) -> Iterator[str]:
    """gunicorn and a Celery worker, as `make run` starts them, on the e2e environment; the server's URL."""
    logs = tmp_path_factory.mktemp("e2e-logs")
    port = stack.free_port()
    url = f"http://127.0.0.1:{port}"
    with (logs / "web.log").open("w") as log:
        web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "facesearch.wsgi", "--config", "python:facesearch.gunicorn_conf",
             "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            env=e2e_env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    processes = [web]
    try:
        with (logs / "worker.log").open("w") as log:
            processes.append(start_worker(env=e2e_env, hostname=f"e2e-{os.getpid()}@%h", log=log))
        deadline = time.monotonic() + START_TIMEOUT
        while not serving(url):
            if web.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the e2e web server did not start:\n{(logs / 'web.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        for process in processes:
            stop(process)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` (apt-get install chromium) installs it")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="package")
def signed_in_state(browser: Browser, live_url: str, tmp_path_factory) -> Path:
    """The cookies of a session signed in once through the sign-in page, reused by every test's page."""
    context = browser.new_context(base_url=live_url)
    sign_in(context.new_page())
    state = tmp_path_factory.mktemp("browser") / "state.json"
    context.storage_state(path=str(state))
    context.close()
    return state


def sign_in(page: Page, username: str = USERNAME, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"://[^/]+/$"))  # the home page: search


def lfw_file(lfw_dir: Path, name: str) -> Path:
    return lfw_dir / "images" / name.rsplit("_", 1)[0] / name


def api_call(page: Page, method: str, path: str, data: dict | None = None) -> dict | None:
    """A call to the API with the page's session, as the page's own scripts send it (with the CSRF token)."""
    token = next(cookie["value"] for cookie in page.context.cookies() if cookie["name"] == "csrftoken")
    response = page.request.fetch(path, method=method, data=data, headers={"X-CSRFToken": token})
    assert response.ok, response.text()
    return response.json() if response.status != 204 else None


def accept_dialog(page: Page, button: str) -> None:
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name=button).click()
    expect(dialog).to_have_count(0)


@pytest.fixture
def context(browser: Browser, live_url: str, signed_in_state: Path) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=live_url, storage_state=str(signed_in_state), viewport=DESKTOP)
    context.set_default_timeout(15_000)
    yield context
    context.close()


CSP_VIOLATION = "Content Security Policy"
# Chromium logs most refusals itself ("... violates the following Content Security Policy directive ..."), but not all
# in those words (a refused `new Function` the page catches logs only "Note that 'script-src' was not explicitly
# set..."): the page reports every `securitypolicyviolation` event too.
REPORT_CSP_VIOLATIONS = f"""document.addEventListener("securitypolicyviolation", (event) => console.error(
    `{CSP_VIOLATION} violation: ${{event.effectiveDirective}} refused ${{event.blockedURI || "inline"}}`
    + ` (${{event.sourceFile}}:${{event.lineNumber}})`
));"""


def watch_for_errors(page: Page) -> list[str]:
    """The uncaught JavaScript errors and Content Security Policy violations of the page, as they happen."""
    errors: list[str] = []
    page.add_init_script(REPORT_CSP_VIOLATIONS)
    page.on("pageerror", lambda error: errors.append(str(error)))

    def on_console(message) -> None:
        if CSP_VIOLATION in message.text:
            errors.append(message.text)

    page.on("console", on_console)
    return errors


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A signed-in page; an uncaught JavaScript error or a Content Security Policy violation fails the test."""
    page = context.new_page()
    errors = watch_for_errors(page)
    yield page
    assert not errors, f"JavaScript errors or CSP violations: {errors}"


IMAGES_SHOWN = """() => [...document.images].every((img) => img.complete || (img.loading === "lazy" && (
    !img.getClientRects().length || img.getBoundingClientRect().top > innerHeight
)))"""  # lazy images that are hidden or below the fold are not loaded (a full-page screenshot does not scroll)


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save the page under test-output/screenshots/ (for people to look at; the tests do not compare them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_function(IMAGES_SHOWN)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


PROCESSING_TIMEOUT = 150_000  # ms: a few LFW photos through a real worker on a busy 2-core machine


def choose(page: Page, library_id: int) -> None:
    """Work in `library_id` (the bar's switcher reloads the page); remembered for this browser context."""
    page.get_by_label("Library", exact=True).select_option(str(library_id))
    expect(page.get_by_label("Library", exact=True)).to_have_value(str(library_id))


@contextlib.contextmanager
def library_with_photos(
    browser: Browser, live_url: str, signed_in_state: Path, name: str, files: list[Path]
) -> Iterator[tuple[Page, int, dict[str, dict]]]:
    """A library of its own, chosen in the bar, with `files` uploaded through the Photos page and processed by the
    worker: `(page, library id, {file name: photo as the API shows it})`; the library is deleted afterwards."""
    context = browser.new_context(base_url=live_url, storage_state=str(signed_in_state), viewport=DESKTOP)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = watch_for_errors(page)
    page.goto("/photos/")
    library = api_call(page, "POST", "/api/libraries/", {"name": name})
    page.reload()
    choose(page, library["id"])
    expect(page.locator("#upload-target")).to_have_text(name)
    page.get_by_label("Photos to upload").set_input_files(files)
    expect(page.locator('.upload-item[data-state="done"]')).to_have_count(len(files), timeout=PROCESSING_TIMEOUT)
    photos = api_call(page, "GET", f"/api/photos/?library={library['id']}&page_size=100")["results"]
    assert not errors, errors
    try:
        yield page, library["id"], {photo["original_name"]: photo for photo in photos}
    finally:
        if page.request.get(f"/api/libraries/{library['id']}/").ok:
            api_call(page, "DELETE", f"/api/libraries/{library['id']}/")
        context.close()
