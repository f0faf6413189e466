"""docker/compose.yaml is safe to start as is: no secret has a default, Redis wants a password, nothing listens on
every interface, and the web role runs with the HTTPS settings (it sits behind a TLS-terminating reverse proxy)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker" / "compose.yaml"
SECRETS = {"POSTGRES_PASSWORD", "REDIS_PASSWORD", "SECRET_KEY"}
VARIABLE = re.compile(r"\$\{(\w+)([^}]*)\}")
LOOPBACK = {"127.0.0.1", "::1", "[::1]"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _strings(node) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _host_ip(port: str | int | dict) -> str | None:
    """The address a `ports:` entry binds on the host; None for every interface."""
    if isinstance(port, dict):
        return port.get("host_ip")
    parts = str(port).rsplit(":", 2)
    return parts[0] if len(parts) == 3 else None


def test_no_service_publishes_a_port_on_every_interface(compose):
    published = {name: service.get("ports", []) for name, service in compose["services"].items()}
    assert published["web"] == ["127.0.0.1:8000:8000"]
    for name, ports in published.items():
        for port in ports:
            assert _host_ip(port) in LOOPBACK, f"{name} publishes {port} on every interface"


def test_every_secret_is_required_without_a_default(compose):
    uses = [(match[1], match[2]) for text in _strings(compose) for match in VARIABLE.finditer(text)]
    assert {name for name, _ in uses} >= SECRETS
    for name, modifier in uses:
        if name in SECRETS:
            assert modifier.startswith(":?"), f"${{{name}{modifier}}} gives {name} a default or lets it be empty"


def test_redis_requires_the_password_the_app_and_the_healthcheck_use(compose):
    redis = compose["services"]["redis"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--requirepass") + 1].startswith("${REDIS_PASSWORD:?")
    assert redis["environment"]["REDISCLI_AUTH"].startswith("${REDIS_PASSWORD:?")
    assert "PONG" in " ".join(redis["healthcheck"]["test"])  # an unauthenticated ping gets NOAUTH, not PONG
    for role in ("web", "worker", "migrate"):
        url = compose["services"][role]["environment"]["REDIS_URL"]
        assert url.startswith("redis://:${REDIS_PASSWORD:?") and url.endswith("@redis:6379/0"), role


def test_web_and_worker_run_with_the_https_settings(compose):
    for role in ("web", "worker", "migrate"):
        environment = compose["services"][role]["environment"]
        assert environment["FACESEARCH_HTTPS"] == "true"
        assert environment["FACESEARCH_PROXY_SETS_X_FORWARDED_PROTO"] == "true"


def test_the_gpu_worker_is_the_worker_with_a_gpu_reserved_and_off_by_default(compose):
    services = compose["services"]
    gpu, cpu = services["worker-gpu"], services["worker"]
    assert gpu["command"] == cpu["command"] and gpu["environment"] == cpu["environment"]
    assert gpu["build"]["args"]["EXTRAS"] == "[gpu]" and gpu["profiles"] == ["gpu"]
    assert gpu["deploy"]["resources"]["reservations"]["devices"] == [
        {"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}
    ]
