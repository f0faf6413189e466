"""`/metrics`: Prometheus' text format to the token holder or staff only; searches counted with their results, state
read from the database and Redis, a real worker's batches added up from its own process; JSON logs on request."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from prometheus_client.parser import text_string_to_metric_families

from facesearch.photos.models import Face, Photo
from tests.facesearch.conftest import ENROLLED, QUERY_IMAGE, lfw_stem, upload
from tests.facesearch.photos.support import wait_for
from tests.servers import ROOT

TOKEN = "metrics-token-for-tests"


def samples(response) -> dict[tuple[str, tuple], float]:
    """(sample name, sorted labels) -> value of a /metrics answer."""
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


@pytest.fixture
def token(settings) -> dict[str, str]:
    settings.FACESEARCH_METRICS_TOKEN = TOKEN
    return {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


@pytest.mark.django_db
def test_metrics_answer_only_the_token_holder_and_staff(client, api_client, admin_client, settings):
    settings.FACESEARCH_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404  # no token configured: nobody but staff
    settings.FACESEARCH_METRICS_TOKEN = TOKEN
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    assert api_client.get("/metrics").status_code == 404  # an ordinary signed-in user
    assert admin_client.get("/metrics").status_code == 200


@pytest.mark.slow
@pytest.mark.django_db
def test_searches_are_counted_with_their_results_and_the_state_is_read_from_the_database(
    client, api_client, gallery, lfw_images, token
):
    kind = (("kind", "search"),)
    before = samples(client.get("/metrics", **token))
    query = lfw_images[lfw_stem(ENROLLED[0], QUERY_IMAGE)]
    found = api_client.post("/api/search/", {"file": upload(query.data), "limit": 10}, format="multipart").json()
    after = samples(client.get("/metrics", **token))

    assert (
        after[("facesearch_search_seconds_count", kind)] == before.get(("facesearch_search_seconds_count", kind), 0) + 1
    )
    assert after[("facesearch_search_results_sum", kind)] == before.get(
        ("facesearch_search_results_sum", kind), 0
    ) + len(found["matches"])  # fmt: skip
    assert after[("facesearch_photos", (("status", "done"),))] == Photo.objects.filter(status="done").count() > 0
    model_id = next(iter(gallery.values())).model_id
    assert after[("facesearch_faces", (("model_id", model_id),))] == Face.objects.filter(model_id=model_id).count()
    assert all(("facesearch_queue_depth", (("queue", q),)) in after for q in ("interactive", "ingest", "maintenance"))
    assert any(name.startswith("django_http_requests_latency_seconds_by_view_method") for name, _ in after)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_process_batches_are_added_up_by_the_web_metrics(client, api_client, lfw_images, celery_worker, token):
    """The worker is another process: its samples reach /metrics through the shared multiprocess folder."""
    before = samples(client.get("/metrics", **token)).get(("facesearch_worker_batch_photos_count", ()), 0)
    image = lfw_images[lfw_stem(ENROLLED[1], 1)]
    file = SimpleUploadedFile(f"{image.stem}.jpg", image.data, content_type="image/jpeg")
    photo = api_client.post("/api/photos/", {"file": file}, format="multipart").json()
    wait_for(lambda: Photo.objects.get(id=photo["id"]).status == "done", what="the photo to be processed")
    after = wait_for(
        lambda: (
            samples(client.get("/metrics", **token)).get(("facesearch_worker_batch_photos_count", ()), 0) > before
            and samples(client.get("/metrics", **token))
        ),
        what="the worker's batch in /metrics",
    )
    assert after[("facesearch_worker_batch_seconds_count", ())] >= 1


@pytest.mark.slow
def test_json_logs_carry_the_message_and_its_extra_fields(tmp_path):
    code = "import logging; logging.getLogger('facesearch.test').warning('stored %d faces', 3, extra={'photo_id': 7})"
    env = {"LOG_FORMAT": "json", "FACESEARCH_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", code],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["message"] == "stored 3 faces" and line["photo_id"] == 7
    assert line["level"] == "WARNING" and line["logger"] == "facesearch.test" and "time" in line
