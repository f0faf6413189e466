"""Schemathesis against /api/schema/: every operation of the real app, authenticated, in a bounded, seeded run.

The app runs in this process (`facesearch.wsgi.application`, the production WSGI entry point) on the test database,
so the rows made here are what it answers about: generated ids are swapped for stored ones often enough that each
id-taking operation reaches its 200/204 path, not only its 404. File fields get schemathesis's own samples, random
bytes (a 400, never a 500) and a real LFW face, so search, identify and verify run the networks too.
Checked: no 5xx, and every response's status code, Content-Type and body as the schema documents them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from django.core.cache import cache
from hypothesis import strategies as st
from schemathesis.core.file_samples import FILE_SAMPLES
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.transport.serialization import Binary

from facesearch.celery import app as celery_app
from facesearch.people.models import Person
from facesearch.photos.models import Face, IngestItem, IngestJob, Photo
from facesearch.wsgi import application
from tests.conftest import LFW_DIR
from tests.factories import (
    FaceFactory,
    IngestItemFactory,
    IngestJobFactory,
    PersonFactory,
    TokenFactory,
    UserFactory,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Random cases per operation; schemathesis's coverage phase adds its deterministic boundary and method cases: about
# 1,800 requests in all, 1 to 2.5 minutes on the 2-core machine (loading the networks included).
MAX_EXAMPLES = 25
CHECKS = [schemathesis.checks.not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]  # fmt: skip
FACE_JPEG = LFW_DIR / "images" / "George_W_Bush" / "George_W_Bush_0001.jpg"
TOKEN = "schemathesis0000000000000000000000000000"  # a Token key is 40 characters
STORED = {"photo_id": Photo, "face_id": Face, "job_id": IngestJob, "person_id": Person}


@pytest.fixture
def stored_rows(settings, tmp_path: Path) -> Iterator[None]:
    """People with faces, photos with files, a job with a done and a failed item: what the ids can point at."""
    settings.MEDIA_ROOT = tmp_path / "media"
    TokenFactory(user=UserFactory(username="schemathesis"), key=TOKEN)
    enrolled, named, _nobody = PersonFactory(), PersonFactory(), PersonFactory()
    for person in (enrolled, enrolled, named, None, None):
        FaceFactory(person=person)
    job = IngestJobFactory()
    IngestItemFactory(job=job)
    IngestItemFactory(job=job, photo=None, state=IngestItem.State.FAILED, error="not an image")
    yield
    celery_app.control.purge()  # no worker runs here: drop what the uploads queued, so no later test's worker sees it


def flatmap_path_parameters(context, path_parameters: dict | None) -> st.SearchStrategy:
    """Each id: mostly a stored row's, else the generated value (which may be no number at all: a 404 then)."""
    if not path_parameters:
        return st.just(path_parameters)
    return st.fixed_dictionaries(
        {
            name: _stored_id(STORED[name], value) if name in STORED else st.just(value)
            for name, value in path_parameters.items()
        }
    )


def _stored_id(model: type, generated: object) -> st.SearchStrategy:
    """Three times in four the id of a row of `model`, looked up when drawn (deleted rows drop out), else `generated`.

    The draw is a number from a fixed range, whatever the table holds: Hypothesis requires draws it can replay.
    """

    def pick(n: int) -> object:
        ids = list(model.objects.order_by("id").values_list("id", flat=True))
        return ids[n % len(ids)] if ids and n < 9 else generated

    return st.integers(0, 11).map(pick)


def binary_values() -> st.SearchStrategy:
    """schemathesis's tiny files of each format and random bytes, plus a real photo with a face when LFW is here."""
    samples = [*FILE_SAMPLES.values(), *([FACE_JPEG.read_bytes()] if FACE_JPEG.is_file() else [])]
    return st.one_of(st.sampled_from(samples), st.binary()).map(Binary)


schemathesis.openapi.format("binary", binary_values())
# Loaded at collection (the schema view reads no database): `schemathesis.pytest.from_fixture`, which would load it in
# a fixture, fails under pytest 9 (it sets `Item._nodeid`, which pytest 9 no longer has).
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/",
    application,
    config=schemathesis.Config.from_dict(
        {
            "headers": {"Authorization": f"Token {TOKEN}"},
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none", "no-shrink": True},
            "phases": {"stateful": {"enabled": False}},
        }
    ),
)
schema.hook(flatmap_path_parameters)


@schema.parametrize()
@pytest.mark.usefixtures("stored_rows")
def test_every_operation_answers_as_documented_and_never_5xx(case):
    cache.clear()  # the throttles' counters: the search rate (60/min) would answer most of these cases with a 429
    case.call_and_validate(checks=CHECKS)
