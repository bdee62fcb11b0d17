"""USSD *1708# under load: latency of each menu step with many sessions open at once.

    python bench/bench_ussd.py [--sessions 1000] [--concurrency 200] [--think 1.0]

The production set-up on loopback: a fresh PostgreSQL database (migrated and
seeded), a Redis db of its own, gunicorn `app:create_app()` on a free port.
Load comes from a separate process (aiohttp): `--concurrency` sessions are
open at any time, each walks the whole "file a complaint" path (dial, menu,
sector, place, confirm place, text, send) with a think time between screens,
as a person on a handset would; the first sessions dial spread over one
session's length, as callers arrive. Bounded by `--sessions` and `--max-seconds`.
A warm-up round (not counted) lets every worker load the routing index.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
import uuid

from production import REPO, gunicorn, percentile, production_env

PLACES = [("kab sijunjung", "1"), ("kota padang", "1"), ("bandung", "2"), ("malang", "1")]
STEPS = ["dial", "menu", "sector", "place", "place_ok", "text", "send"]


def _session_inputs(n: int) -> list[str]:
    place, pick = PLACES[n % len(PLACES)]
    text = f"Jalan berlubang di depan pasar, laporan uji beban nomor {n} {uuid.uuid4().hex[:6]}"
    return ["", "1", "6", place, pick, text, "1"]


async def _walk(
    http, url: str, n: int, think: float, timings: dict[str, list[float]] | None
) -> None:
    session_id, phone = f"bench-{uuid.uuid4().hex}", f"+62813{n:08d}"
    inputs: list[str] = []
    for step, entry in zip(STEPS, _session_inputs(n), strict=True):
        if step != "dial":
            inputs.append(entry)
        form = {
            "sessionId": session_id,
            "serviceCode": "*1708#",
            "phoneNumber": phone,
            "text": "*".join(inputs),
        }
        started = time.perf_counter()
        async with http.post(url, data=form) as response:
            body = await response.text()
        elapsed = time.perf_counter() - started
        if response.status != 200 or not body.startswith(("CON ", "END ")):
            raise RuntimeError(f"{step}: {response.status} {body[:80]!r}")
        if timings is not None:
            timings[step].append(elapsed)
        await asyncio.sleep(random.uniform(0.5 * think, 1.5 * think))


async def _load(url: str, sessions: int, concurrency: int, think: float, max_s: float) -> dict:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        await asyncio.gather(*(_walk(http, url, -1 - i, 0.05, None) for i in range(20)))  # warm-up
        timings: dict[str, list[float]] = {step: [] for step in STEPS}
        gate = asyncio.Semaphore(concurrency)
        deadline = time.monotonic() + max_s
        errors: list[str] = []

        async def one(n: int) -> None:
            async with gate:
                if (
                    n < concurrency
                ):  # the first sessions dial over one session's length, not at once
                    await asyncio.sleep(random.uniform(0, think * len(STEPS)))
                if time.monotonic() > deadline:
                    return
                try:
                    await _walk(http, url, n, think, timings)
                except Exception as exc:  # noqa: BLE001 - counted and reported, not fatal
                    errors.append(f"{type(exc).__name__}: {exc}")

        started = time.monotonic()
        await asyncio.gather(*(one(n) for n in range(sessions)))
        wall = time.monotonic() - started
    return {"timings": timings, "errors": errors, "wall_s": wall}


def run(args: argparse.Namespace) -> None:
    partners = [{"name": "bench", "token": "t", "send_url": "http://127.0.0.1:9/"}]
    with (
        production_env(COMPLAINTS_PER_HOUR="1000", HTTP_PARTNERS=json.dumps(partners)) as env,
        gunicorn(env, args.workers) as base,
    ):
        load = subprocess.run(
            [
                sys.executable,
                __file__,
                "--load",
                f"{base}/ussd",
                "--sessions",
                str(args.sessions),
                "--concurrency",
                str(args.concurrency),
                "--think",
                str(args.think),
                "--max-seconds",
                str(args.max_seconds),
            ],
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
        )
    _report(json.loads(load.stdout), args)


def _report(result: dict, args: argparse.Namespace) -> None:
    timings: dict[str, list[float]] = result["timings"]
    every = [t for values in timings.values() for t in values]
    print(
        f"set-up: PostgreSQL + Redis on loopback, gunicorn --preload -k gthread --threads 8 -w {args.workers}, {os.cpu_count()} CPUs"
    )
    print(
        f"sessions {len(timings['send'])} completed, {args.concurrency} open at once, think {args.think} s, "
        f"{len(every)} requests in {result['wall_s']:.1f} s ({len(every) / result['wall_s']:.0f}/s), "
        f"{len(result['errors'])} errors"
    )
    print(f"{'step':10} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for step in [*STEPS, "all"]:
        values = every if step == "all" else timings[step]
        if values:
            p50, p99 = (1000 * percentile(values, q) for q in (0.5, 0.99))
            print(f"{step:10} {len(values):6d} {p50:8.1f} {p99:8.1f} {max(values) * 1000:8.1f}")
    for error in result["errors"][:5]:
        print("error:", error)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds between screens")
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)  # one per core
    parser.add_argument("--load", help=argparse.SUPPRESS)  # internal: be the load process
    args = parser.parse_args()
    if args.load:
        result = asyncio.run(
            _load(args.load, args.sessions, args.concurrency, args.think, args.max_seconds)
        )
        print(json.dumps(result))
    else:
        run(args)


if __name__ == "__main__":
    main()
