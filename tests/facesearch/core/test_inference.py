"""Inference in the web process: the gate bounds how many searches run and wait, the cap bounds faces per query."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facesearch.core.errors import ApplicationError
from facesearch.core.inference import InferenceGate
from facesearch.libraries.models import AuditEntry
from facesearch.search import services
from tests.facesearch.conftest import upload

CROWD = ("George_W_Bush_0001", "Colin_Powell_0001", "Tony_Blair_0001", "Hugo_Chavez_0001")


def test_a_full_gate_refuses_at_once_with_a_429_saying_when_to_retry():
    gate = InferenceGate(concurrency=1, queue=0, wait=2.5)
    with gate.slot(), pytest.raises(ApplicationError) as refused, gate.slot():
        pass
    assert refused.value.status == 429
    assert refused.value.headers == {"Retry-After": "3"} and refused.value.extra == {"wait": 3}


def test_a_waiting_search_is_refused_after_the_wait_and_frees_its_place():
    gate = InferenceGate(concurrency=1, queue=1, wait=0.05)
    with gate.slot():
        for _ in range(2):  # the second finds the waiting place the first gave back
            with pytest.raises(ApplicationError, match="waited too long"), gate.slot():
                pass
    with gate.slot():  # and the running one
        pass


def test_a_waiting_search_runs_as_soon_as_the_running_one_ends():
    gate = InferenceGate(concurrency=1, queue=1, wait=30)
    entered = threading.Event()

    def search() -> None:
        with gate.slot():
            entered.set()

    with gate.slot():
        waiting = threading.Thread(target=search)
        waiting.start()
        assert not entered.wait(timeout=0.2)  # not while the one slot is taken
    assert entered.wait(timeout=30)
    waiting.join(timeout=30)


@pytest.mark.django_db
def test_search_answers_429_with_retry_after_when_the_gate_is_full(api_client, monkeypatch, lfw_dir: Path):
    gate = InferenceGate(concurrency=1, queue=0, wait=10)
    monkeypatch.setattr(services, "get_gate", lambda: gate)
    query = (lfw_dir / "images" / "George_W_Bush" / "George_W_Bush_0001.jpg").read_bytes()

    with gate.slot():
        response = api_client.post("/api/search/", {"file": upload(query)}, format="multipart")

    assert response.status_code == 429
    assert response["Retry-After"] == "10"
    body = response.json()
    assert body["message"].startswith("Too many face searches") and body["extra"] == {"wait": 10}
    refused = AuditEntry.objects.get()  # a refused search is audited as failed, with no results
    assert (refused.kind, refused.succeeded, refused.result_count) == ("search", False, 0)
    assert refused.detail["error"]["status"] == 429


def crowd_jpeg(lfw_dir: Path) -> bytes:
    images = [Image.open(lfw_dir / "images" / stem.rsplit("_", 1)[0] / f"{stem}.jpg") for stem in CROWD]
    buffer = io.BytesIO()
    Image.fromarray(np.concatenate([np.asarray(image) for image in images], axis=1)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.mark.slow
@pytest.mark.django_db
def test_search_and_identify_encode_at_most_the_configured_number_of_faces(api_client, settings, lfw_dir: Path):
    settings.FACESEARCH_MAX_QUERY_FACES = 2
    crowd = crowd_jpeg(lfw_dir)

    searched = api_client.post("/api/search/", {"file": upload(crowd)}, format="multipart")
    identified = api_client.post("/api/identify/", {"file": upload(crowd)}, format="multipart")

    assert searched.status_code == 200 and len(searched.json()["query_faces"]) == 2
    assert identified.status_code == 200 and len(identified.json()["faces"]) == 2
    settings.FACESEARCH_MAX_QUERY_FACES = 10
    assert len(api_client.post("/api/identify/", {"file": upload(crowd)}, format="multipart").json()["faces"]) >= 4
