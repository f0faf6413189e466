"""`facesearch run`: boot the whole product (embedded servers when no URLs are set), supervised by honcho."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from pathlib import Path

from honcho.environ import parse_procfile
from honcho.manager import Manager

from facesearch import paths, stack
from facesearch.core.metrics import multiprocess_dir_reset

ROOT = Path(__file__).resolve().parent.parent
STOPPED_BY_SIGNAL = (130, 143)  # honcho's return codes for Ctrl-C (SIGINT) and SIGTERM


def _manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, check=True, cwd=ROOT)


def _banner(port: int, embedded: list[str], data_dir: Path) -> str:
    url = f"http://127.0.0.1:{port}"
    servers = ", ".join(embedded) if embedded else "none (DATABASE_URL and REDIS_URL are set)"
    return (
        f"\n  facesearch is starting on {url}/\n"
        f"  admin:        {url}/admin/\n"
        f"  API docs:     {url}/api/docs/\n"
        f"  health:       {url}/healthz\n"
        f"  data:         {data_dir}\n"
        f"  embedded:     {servers}\n"
        f"  first user:   .venv/bin/python manage.py createsuperuser   (in a second terminal)\n"
        f"  Ctrl-C stops everything.\n"
    )


def run(port: int) -> int:
    """Start servers, migrate, then run the Procfile's processes until Ctrl-C or until one of them dies."""
    data_dir = paths.data_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "FACESEARCH_DATA_DIR": str(data_dir), "PORT": str(port)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    metrics_dir = data_dir / "run" / "metrics"  # every process of this run writes its samples here; none before it
    multiprocess_dir_reset(metrics_dir)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    manager = Manager()
    services: dict[str, str] = {}
    if not os.environ.get("DATABASE_URL"):
        services["DATABASE_URL"] = stack.start_postgres(data_dir / "postgres")
    if not os.environ.get("REDIS_URL"):
        redis_port = stack.free_port()
        services["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        manager.add_process("redis", shlex.join(stack.redis_command(data_dir / "redis", redis_port)), env=env)
    env.update(services)

    services_env = data_dir / "run" / "services.env"
    services_env.parent.mkdir(exist_ok=True)
    services_env.write_text("".join(f"{key}={value}\n" for key, value in services.items()))
    try:
        _manage("migrate", "--noinput", env=env)
        _manage("collectstatic", "--noinput", "--verbosity", "0", env=env)
        for name, command in parse_procfile((ROOT / "Procfile").read_text()).processes.items():
            manager.add_process(name, command, env=env, cwd=str(ROOT))
        print(_banner(port, [name for name in ("DATABASE_URL", "REDIS_URL") if name in services], data_dir))
        manager.loop()
    finally:
        services_env.unlink(missing_ok=True)
    code = manager.returncode
    if code in STOPPED_BY_SIGNAL:
        return code
    print(f"facesearch: a process exited by itself (exit code {code}); everything was stopped", file=sys.stderr)
    return 128 - code if code < 0 else code or 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="facesearch", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run the web server and a Celery worker (and embedded servers)")
    run_parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args(argv)
    return run(args.port)


if __name__ == "__main__":
    sys.exit(main())
