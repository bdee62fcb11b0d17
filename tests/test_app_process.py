"""`python app.py` on a fresh machine: starts every role, answers /healthz, stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from support import ROOT, free_port, wait_for


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


def _health(port: int) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
            return json.loads(resp.read())
    except OSError:
        return None


def test_fresh_start_on_embedded_defaults_then_clean_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(LAPOR_VAR_DIR=str(tmp_path / "var"), HTTP_PORT=str(port))
    proc = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        health = wait_for(lambda: _health(port), timeout_s=90, interval_s=0.5)
        assert health["database"] == "ok" and health["redis"] == "ok"
        assert (tmp_path / "var" / "lapor.db").exists()
        children = wait_for(lambda: len(_children(proc.pid)) >= 2 and _children(proc.pid))
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr[-2000:]
    assert "stopped" in stderr
    assert not [pid for pid in children if _alive(pid)]
    assert _health(port) is None
