"""`python app.py route` prints the routing decision as JSON, one line per text with --jsonl."""

from __future__ import annotations

import json
import subprocess
import sys

from support import ROOT


def _run(*args: str, stdin: str = "") -> list[dict[str, object]]:
    out = subprocess.run(
        [sys.executable, "app.py", "route", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_route_one_text() -> None:
    (decision,) = _run("Jalan rusak parah di Kecamatan Sukajadi Kota Bandung")
    assert decision["sector"] == "PEKERJAAN_UMUM"
    assert str(decision["region_code"]).startswith("32.73")
    assert decision["agency_code"] == "PUPR.32.73"
    assert "Bandung" in str(decision["agency_name"])
    assert {"confidence", "explanation"} <= decision.keys()


def test_route_jsonl_reads_many_texts() -> None:
    decisions = _run("--jsonl", stdin="sampah menumpuk di kota padang\nlistrik padam terus\n")
    assert len(decisions) == 2
    assert decisions[0]["sector"] == "LINGKUNGAN_HIDUP"
    assert decisions[1]["sector"] == "LISTRIK"
