"""Reporter numbers never appear unmasked in a log line."""

from __future__ import annotations

import io
import logging
import os
import signal
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlencode

import pytest

from config.logs import MaskingFormatter, ensure_logging

from channels import PARTNER_TOKEN
from support import ROOT, free_port, healthy, wait_for


@pytest.mark.parametrize("number", ["+628113643123", "628113643123", "08113643123"])
def test_every_spelling_of_a_number_is_masked(number: str) -> None:
    formatter = MaskingFormatter("%(message)s")
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "sms from %s", (number,), None)
    line = formatter.format(record)
    assert number.lstrip("+") not in line
    assert line.endswith("xxxx")


def test_a_record_is_one_line_and_tracking_numbers_stay_readable() -> None:
    formatter = MaskingFormatter("%(message)s")
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "a\nb #%d", (1000001,), None)
    assert formatter.format(record) == "a | b #1000001"


def test_numbers_in_request_lines_are_masked() -> None:
    formatter = MaskingFormatter("%(message)s")
    line = '"GET /sms/http?from=%2B628113643123&text=lapor+08113643123%2C+rusak HTTP/1.1" 200'
    record = logging.LogRecord("t", logging.INFO, __file__, 1, line, None, None)
    masked = formatter.format(record)
    assert "8113643123" not in masked
    assert "from=62811364xxxx&text=lapor+0811364xxxx%2C+rusak" in masked


def test_credentials_in_query_strings_are_masked() -> None:
    formatter = MaskingFormatter("%(message)s")
    line = '"GET /sms/http?token=s3cr3t&from=1708&api_key=k3y HTTP/1.1" password=pw 200'
    masked = formatter.format(logging.LogRecord("t", logging.INFO, __file__, 1, line, None, None))
    assert masked == '"GET /sms/http?token=***&from=1708&api_key=*** HTTP/1.1" password=*** 200'


def test_ensure_logging_sets_up_once_and_masks_the_servers_handlers() -> None:
    root, access = logging.getLogger(), logging.getLogger("gunicorn.access")
    saved = (root.handlers[:], root.level, access.handlers[:], access.propagate)
    noisy = {name: logging.getLogger(name).level for name in ("werkzeug", "twilio.http_client")}
    stream = io.StringIO()
    server_handler = logging.StreamHandler(stream)
    server_handler.setFormatter(logging.Formatter("access: %(message)s"))
    root.handlers[:], access.handlers[:], access.propagate = [], [server_handler], False
    try:
        ensure_logging("INFO")
        ensure_logging("INFO")  # create_app once more (or after main()'s setup_logging)
        (handler,) = root.handlers
        assert isinstance(handler.formatter, MaskingFormatter)
        assert access.handlers == [server_handler]
        assert not isinstance(server_handler.formatter.inner, MaskingFormatter)
        access.info('"GET /sms/http?from=%s HTTP/1.1" 200', "%2B628113643123")
    finally:
        root.handlers[:], access.handlers[:], access.propagate = saved[0], saved[2], saved[3]
        root.setLevel(saved[1])
        for name, level in noisy.items():
            logging.getLogger(name).setLevel(level)
    assert stream.getvalue() == 'access: "GET /sms/http?from=62811364xxxx HTTP/1.1" 200\n'


def test_gunicorn_masks_numbers_in_its_access_log_and_the_apps_lines(
    db: dict[str, str],
) -> None:
    """`gunicorn 'app:create_app()'` (README, production) never runs main()'s setup_logging."""
    port = free_port()
    gunicorn = [str(Path(sys.executable).parent / "gunicorn"), "-w", "1"]
    proc = subprocess.Popen(
        [*gunicorn, "-b", f"127.0.0.1:{port}", "--access-logfile", "-", "app:create_app()"],
        cwd=ROOT,
        env={**os.environ, **db},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    requests = [  # (from, text) as Kannel's get-url sends them, URL-encoded
        ("+628113643123", "jalan rusak"),
        ("628113643456", "hubungi saya di 08113643789 atau +628113643222"),
        ("08113643001", "lampu mati"),
    ]
    try:
        wait_for(lambda: healthy(port), timeout_s=60, interval_s=0.3)
        for sender, text in requests:
            params = {"from": sender, "to": "1708", "text": text, "id": uuid.uuid4().hex}
            query = urlencode({**params, "token": PARTNER_TOKEN})
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/sms/http?{query}") as resp:
                assert resp.status == 200
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    for full in ("628113643123", "628113643456", "08113643789", "628113643222", "08113643001"):
        assert full not in output, output
    assert PARTNER_TOKEN not in output and "token=***" in output
    access = [line for line in output.splitlines() if "GET /sms/http?" in line]
    assert len(access) == 3, output
    assert "from=62811364xxxx&to=1708&text=jalan+rusak&" in access[0]
    assert "text=hubungi+saya+di+0811364xxxx+atau+62811364xxxx&" in access[1]
    assert "from=0811364xxxx&" in access[2]
    inbound = [line for line in output.splitlines() if " INFO gateway.intake " in line]
    assert len(inbound) == 3, output  # the app's own lines, once each: one masked handler
    assert "from=62811364xxxx " in inbound[0] and "from=0811364xxxx " in inbound[2]
