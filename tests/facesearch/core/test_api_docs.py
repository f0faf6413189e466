"""The API docs (Swagger UI, ReDoc) load only this origin's files, which exist, and no inline script."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders

DOCS_PAGES = ["/api/docs/", "/api/redoc/"]
REFERENCE = re.compile(r"""\b(?:src|href|spec-url)=["']([^"']+)["']""")


def _references(html: str) -> list[str]:
    return REFERENCE.findall(html)


@pytest.mark.parametrize("path", DOCS_PAGES)
def test_docs_page_references_only_same_origin_files_that_exist(client, path):
    response = client.get(path)
    assert response.status_code == 200
    references = _references(response.content.decode())
    assert any(reference.endswith(".js") for reference in references)
    for reference in references:
        parts = urlsplit(reference)
        assert not parts.scheme and not parts.netloc, f"{path} loads {reference} from another origin"
        if parts.path.startswith(f"/{settings.STATIC_URL}"):
            assert finders.find(parts.path.removeprefix(f"/{settings.STATIC_URL}")), f"{reference} is missing"


@pytest.mark.parametrize("path", DOCS_PAGES)
def test_docs_page_has_no_inline_script_or_style(client, path):
    html = client.get(path).content.decode()
    assert re.findall(r"<script\b[^>]*>", html) and all(" src=" in tag for tag in re.findall(r"<script\b[^>]*>", html))
    assert "<style" not in html and " style=" not in html


def test_swagger_ui_starts_from_a_script_of_its_own_url(client):
    """The split view: the start-up script, inline in drf-spectacular's default page, is a same-origin request."""
    assert '<script src="/api/docs/?script="></script>' in client.get("/api/docs/").content.decode()
    script = client.get("/api/docs/?script=")
    assert script["Content-Type"] == "application/javascript"
    assert 'url: "/api/schema/"' in script.content.decode()
    assert "SwaggerUIBundle({" in script.content.decode()


def test_docs_pages_allow_only_what_their_viewers_need(client):
    swagger = client.get("/api/docs/")["Content-Security-Policy"]
    assert "img-src 'self' blob: data:" in swagger  # swagger-ui.css draws its icons as data: images
    assert "unsafe-inline" not in swagger
    redoc = dict(part.strip().split(" ", 1) for part in client.get("/api/redoc/")["Content-Security-Policy"].split(";"))
    assert redoc["style-src"] == "'self' 'unsafe-inline'"  # styled-components' <style> elements
    assert redoc["worker-src"] == "'self' blob:"  # its search worker
    assert "script-src" not in redoc and redoc["default-src"] == "'self'"
