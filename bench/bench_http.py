"""HTTP intake under load: signed Twilio webhooks from wrk, on PostgreSQL, Redis and gunicorn.

    python bench/bench_http.py [--seconds 20] [--connections 64] [--workers 2] [--rq-workers 0]

The production set-up on loopback (bench/production.py). wrk, a separate
process, posts Twilio-style form bodies, each with its own MessageSid and a
valid X-Twilio-Signature computed by twilio's RequestValidator, for
`--seconds` over `--connections` connections. Each request is stored (the
inbound row committed) before it is answered. Afterwards the database must
hold exactly one inbound row per request wrk saw answered 200 (plus at most one a
connection in flight when wrk stopped); any other answer is counted and
printed. With `--rq-workers N` that many `python app.py
worker` processes file the complaints and send the replies meanwhile (to a
Twilio API on a local port that only counts), so the figure is the whole
pipeline's share of the same two cores.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from production import REPO, gunicorn, production_env

from support import start_role, stop_role

TOKEN = "bench-twilio-token"
SID = "AC" + "0" * 32
TEXTS = ["Jalan rusak berlubang di Kota Padang", "Lampu jalan mati di Kabupaten Sijunjung"]


def signed_requests(url: str, count: int, path: Path) -> None:
    """`count` distinct signed webhook bodies, one a line, as wrk_twilio.lua reads them."""
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(TOKEN)
    with path.open("w") as out:
        for n in range(count):
            params = {
                "MessageSid": "SM" + uuid.uuid4().hex,
                "AccountSid": SID,
                "From": f"+62811{n:08d}",
                "To": "1708",
                "Body": f"{TEXTS[n % len(TEXTS)]} nomor {n}",
                "NumSegments": "1",
            }
            signature = validator.compute_signature(url, params)
            out.write(f"{signature}\t{urllib.parse.urlencode(params)}\n")


class CountingTwilio(ThreadingHTTPServer):
    """Stands in for Twilio's REST API: accepts every message and counts them."""

    def __init__(self) -> None:
        self.sent = 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with server.lock:
                    server.sent += 1
                    sid = f"SM{server.sent:032d}"
                body = f'{{"sid": "{sid}", "status": "queued"}}'.encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def run_wrk(url: str, requests_file: Path, args: argparse.Namespace) -> str:
    threads = 2
    return subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{args.connections}",
            f"-d{args.seconds}s",
            "--latency",
            "--timeout",
            "10s",
            "-s",
            str(REPO / "bench" / "wrk_twilio.lua"),
            url,
            "--",
            str(requests_file),
            str(threads),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def wrk_figures(output: str) -> dict[str, float]:
    """Requests, non-2xx answers, requests/s and latency percentiles (ms) from wrk's report."""

    def ms(value: str, unit: str) -> float:
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    figures = {
        "requests": float(re.search(r"(\d+) requests in", output).group(1)),  # type: ignore[union-attr]
        "per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        "non_2xx": float(m.group(1)) if (m := re.search(r"Non-2xx.*?(\d+)", output)) else 0.0,
        "errors": float(
            sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
        ),
    }
    for pct, value, unit in re.findall(r"\s(50|90|99)%\s+([\d.]+)(us|ms|s)\b", output):
        figures[f"p{pct}_ms"] = ms(value, unit)
    return figures


def inbound_rows(env: dict[str, str]) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM inbound_messages")).scalar_one()
    engine.dispose()
    return int(count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker")
    parser.add_argument("--rq-workers", type=int, default=0, help="`python app.py worker`s")
    parser.add_argument("--max-rate", type=int, default=4000, help="bodies prepared per second")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk (or bash scripts/ensure-packages)")
    twilio = CountingTwilio()
    extra = {
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_FROM": "+15005550006",
        "TWILIO_API_BASE": twilio.url,
        "COMPLAINTS_PER_HOUR": "1000000",
    }
    with (
        tempfile.TemporaryDirectory(prefix="bench-http-") as tmp,
        production_env(**extra) as env,
        gunicorn(env, args.workers, args.threads) as base,
    ):
        requests_file = Path(tmp) / "requests.tsv"
        signed_requests(f"{base}/sms/twilio", args.max_rate * args.seconds, requests_file)
        workers = [start_role(env, "worker") for _ in range(args.rq_workers)]
        try:
            figures = wrk_figures(run_wrk(f"{base}/sms/twilio", requests_file, args))
        finally:
            for proc in workers:
                stop_role(proc)
        rows = inbound_rows(env)
    answered = int(figures["requests"] - figures["non_2xx"])
    print(
        f"set-up: PostgreSQL + Redis on loopback, gunicorn --preload -k gthread "
        f"--threads {args.threads} -w {args.workers}, {args.rq_workers} RQ workers; "
        f"wrk -t2 -c{args.connections} -d{args.seconds}s"
    )
    print(
        f"{figures['per_second']:.0f} requests/s; p50 {figures.get('p50_ms', 0):.1f} ms, "
        f"p90 {figures.get('p90_ms', 0):.1f} ms, p99 {figures.get('p99_ms', 0):.1f} ms; "
        f"{answered} answered 200, {figures['non_2xx']:.0f} other, "
        f"{figures['errors']:.0f} socket errors"
    )
    # Requests still in flight when wrk stops are stored but not counted by wrk: at most
    # one a connection. The unique (channel, link, MessageSid) key forbids a second row.
    print(
        f"inbound rows {rows} (wrk counted {answered} answered, at most {args.connections} more "
        f"in flight at the stop); replies sent to Twilio {twilio.sent}"
    )
    if not answered <= rows <= answered + args.connections:
        sys.exit("MISMATCH: a request answered 200 was not stored")


if __name__ == "__main__":
    main()
