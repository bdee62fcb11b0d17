"""One telco link: its sessions (one trx, or a tx and an rx), database thread and outbox feeder."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable

from redis import Redis
from redis.exceptions import RedisError

from gateway.smpp.config import LinkConfig
from gateway.smpp.cpu import yield_to_filing
from gateway.smpp.dbworker import UNAVAILABLE, DbWorker
from gateway.smpp.limiter import TpsLimiter
from gateway.smpp.outage import OutageLog
from gateway.smpp.outcomes import Outcome
from gateway.smpp.session import Hooks, Session
from gateway.smpp.submitter import Submitter
from gateway.smpp.waker import Waker
from models.db import HeldConnection, session_scope
from models.outbox import LEASE, claim_outbound, renew_lease
from models.queues import SMPP_OUT_KEY, report_link

log = logging.getLogger(__name__)

POLL_S = 1.0  # the outbox is read at least this often, whatever Redis says
RENEW_EVERY_S = LEASE.total_seconds() / 4  # leases of held rows are extended this often
# The link's state is published again this often, bound or not: a link whose process was
# killed, or that was taken out of SMPP_LINKS, falls silent (models.queues.LINK_SILENT_S).
HEARTBEAT_S = 10.0


class Link:
    def __init__(
        self, config: LinkConfig, *, redis: Redis, on_inbound: Callable[[list[int]], None]
    ) -> None:
        self.config = config
        self.redis = redis
        # Its report among those of every process running the link (models.queues.report_link).
        self.process = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.stop_event = threading.Event()
        self.submitter = Submitter(config, self._report)
        self.waker = Waker(f"smpp-wake-{config.name}", on_inbound)
        # The database thread stops last: the sessions' last outcomes and MOs go through it.
        self._db_stop = threading.Event()
        self.db = DbWorker(config, self.waker.put, self._db_stop, on_settled=self.submitter.release)
        limiter = TpsLimiter(redis, config.name, config.tps, ahead=config.window)
        self._states: dict[str, tuple[bool, str]] = {}
        self._state_lock = threading.Lock()  # a tx and an rx report at once: publish in order
        roles = ("trx",) if config.bind == "trx" else ("tx", "rx")
        self.sessions = [
            Session(
                config,
                role,
                Hooks(
                    deliver=self.db.put,
                    submitter=self.submitter if role != "rx" else None,
                    limiter=limiter if role != "rx" else None,
                    on_state=self._on_state,
                ),
                self.stop_event,
            )
            for role in roles
        ]
        self.outbox_outage = OutageLog(log, f"link {config.name}: outbox")
        self._claims = HeldConnection(autocommit=True)  # the feeder's claim is one statement
        self.feeder = threading.Thread(
            target=self._feed, name=f"smpp-feed-{config.name}", daemon=True
        )

    def start(self) -> None:
        self.waker.start()
        self.db.start()
        for session in self.sessions:
            session.start()
        self.feeder.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Let the sessions have the answers to what is in flight and unbind, then the
        database thread commit what it holds and have it handled."""
        self.stop_event.set()
        for session in self.sessions:
            session.wake()
        with self.submitter.space:
            self.submitter.space.notify_all()
        deadline = time.monotonic() + timeout_s
        for thread in [*self.sessions, self.feeder]:
            thread.join(max(0.1, deadline - time.monotonic()))
        self._db_stop.set()
        self.db.join(max(0.1, deadline - time.monotonic()))
        self.waker.close(max(0.1, deadline - time.monotonic()))
        self._heartbeat(running=False)  # its queued replies may now go another way (the sweep)

    def bound(self) -> bool:
        return all(session.bound.is_set() for session in self.sessions)

    def _report(self, outcome: Outcome) -> None:
        self.db.put(outcome)

    def _on_state(self, role: str, bound: bool, detail: str) -> None:
        with self._state_lock:
            self._states[role] = (bound, detail)
            self._publish()

    def _heartbeat(self, running: bool = True) -> None:
        with self._state_lock:
            self._publish(running)

    def _publish(self, running: bool = True) -> None:
        """The state of every session, with the time it was true (under _state_lock)."""
        state = {
            "running": running,
            "bound": running
            and all(b for b, _ in self._states.values())
            and len(self._states) == len(self.sessions),
            "sessions": {r: {"bound": b, "detail": d} for r, (b, d) in self._states.items()},
            "at": time.time(),
        }
        try:
            report_link(self.redis, self.config.name, self.process, state)
        except RedisError:
            log.debug("link %s: state not published, Redis unavailable", self.config.name)

    def _feed(self) -> None:
        """Claim outbox rows whenever the send job wakes us (or every POLL_S) and there is room."""
        yield_to_filing()
        key = SMPP_OUT_KEY.format(link=self.config.name)
        more = False
        renew_at = time.monotonic() + RENEW_EVERY_S
        beat_at = 0.0
        while not self.stop_event.is_set():
            try:
                now = time.monotonic()
                if now >= beat_at:
                    beat_at = now + HEARTBEAT_S
                    self._heartbeat()
                if now >= renew_at:
                    renew_at = now + RENEW_EVERY_S
                    self._renew_leases()
                with self.submitter.space:
                    if self.submitter.room() <= 0:
                        self.submitter.space.wait(POLL_S)
                        continue
                if not more:
                    self._wait_for_work(key)
                more = self._claim()
            except Exception:  # the link must go on sending; what it holds keeps its lease
                log.exception("link %s: outbox feeder error", self.config.name)
                more = False
                self.stop_event.wait(POLL_S)
        self._claims.close()

    def _renew_leases(self) -> None:
        held = self.submitter.held_ids()
        try:
            with session_scope() as session:
                renew_lease(session, held)
        except UNAVAILABLE:
            log.warning(
                "link %s: %d leases not renewed, database unavailable", self.config.name, len(held)
            )

    def _wait_for_work(self, key: str) -> None:
        try:
            if self.redis.brpop([key], timeout=POLL_S):
                # Every id pushed so far is committed: one claim below sees them all.
                self.redis.delete(key)
        except RedisError:
            self.stop_event.wait(POLL_S)

    def _claim(self) -> bool:
        """Claim as much as there is room for; True if the outbox may hold more."""
        room = self.submitter.room()
        if room <= 0:
            return False
        try:
            with self._claims.session() as session:
                claims = claim_outbound(
                    session, channel=self.config.channel, link=self.config.name, limit=room
                )
        except UNAVAILABLE as exc:
            self.outbox_outage.down(exc)
            self.stop_event.wait(POLL_S)
            return False
        self.outbox_outage.up()
        if claims:
            self.submitter.add(claims)
        return len(claims) == room
