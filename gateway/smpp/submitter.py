"""A link's outgoing work: segments waiting to go, and the window of submit_sm in flight.

Filled by the feeder thread (outbox claims), drained by the socket thread that
owns the transmitter. A message is reported once: sent when every segment is
accepted, to retry or failed otherwise. A part refused for a temporary reason
while other parts of its message are with the SMSC goes again alone: the row
sent again whole would deliver those twice. ESME_RTHROTTLED / ESME_RMSGQFUL pause
the whole link and the segment goes again, so a throttled message is sent once.
The pause doubles (PAUSE_MIN_S to PAUSE_MAX_S) each time what was sent after
the last pause is throttled again, not for each answer of the window that was
in flight when the SMSC began throttling: a window of 50 answered "throttled"
is one pause of half a second, where it was ten seconds at once.

A row stays held (and counts against the capacity) until the database thread
has committed its outcome: the rows a link has in `sending` are never more
than its capacity (LinkConfig.capacity: a window in flight and a window ready
behind it), so a process killed at any moment leaves at most that many rows
for the sweep to fail as "may or may not have been sent".
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from smpplib import consts

from gateway.smpp import metrics
from gateway.smpp.config import LinkConfig
from gateway.smpp.outcomes import Outcome
from gateway.smpp.receipts import canonical_id
from gateway.smpp.segment import RefCounter, Segment, split_text
from models.outbox import OutboundClaim

log = logging.getLogger(__name__)

THROTTLING = frozenset({consts.SMPP_ESME_RTHROTTLED, consts.SMPP_ESME_RMSGQFUL})
TEMPORARY = frozenset(
    {
        consts.SMPP_ESME_RSYSERR,
        consts.SMPP_ESME_RSUBMITFAIL,
        consts.SMPP_ESME_RX_T_APPN,
        consts.SMPP_ESME_RUNKNOWNERR,
    }
)
STATUS_NAMES = {
    value: name.removeprefix("SMPP_")
    for name, value in vars(consts).items()
    if name.startswith("SMPP_ESME_")
}
PAUSE_MIN_S, PAUSE_MAX_S = 0.5, 10.0
RETRY_AFTER_LINK_LOSS_S = 1.0
PART_RETRIES = 3  # a message's parts sent again alone (its other parts are with the SMSC)


def status_text(status: int) -> str:
    return f"SMPP {STATUS_NAMES.get(status, 'status')} (0x{status:08X})"


@dataclass(eq=False)
class Outgoing:
    """One outbox row while this link holds it."""

    claim: OutboundClaim
    segments: list[Segment]
    ids: list[str] = field(default_factory=list)
    accepted: int = 0
    part_retries: int = 0  # parts sent again alone after a temporary error
    finished: bool = False


@dataclass(frozen=True, eq=False)
class Pending:
    message: Outgoing
    segment: Segment


class Submitter:
    def __init__(
        self, link: LinkConfig, report: Callable[[Outcome], None], refs: RefCounter | None = None
    ) -> None:
        self.link = link
        self.report = report
        self.refs = refs or RefCounter()
        self.capacity = link.capacity  # rows held at once: what a crash can leave in doubt
        self._lock = threading.RLock()  # also the condition the feeder waits on
        self._queue: deque[Pending] = deque()
        self._inflight: dict[int, tuple[Pending, float]] = {}
        self._held: set[int] = set()  # outbox ids taken, outcome not yet committed
        self._pause_s = PAUSE_MIN_S  # the next throttle pause: doubles while throttling goes on
        self._paused_at = float("-inf")  # when the last throttle pause began
        self.paused_until = 0.0
        self.accepting = False  # a bound transmitter is there to drain the queue
        self.space = threading.Condition(self._lock)
        self.wake: Callable[[], None] = lambda: None

    # -- feeder side --------------------------------------------------------
    def room(self) -> int:
        """How many more outbox rows the feeder may claim for this link now."""
        with self._lock:
            return self.capacity - len(self._held) if self.accepting else 0

    def held_ids(self) -> list[int]:
        """Outbox rows this link holds (claimed, not yet committed): their leases must not lapse."""
        with self._lock:
            return list(self._held)

    def release(self, outbound_ids: list[int]) -> None:
        """Their outcomes are committed (database thread): room for the feeder to claim more."""
        with self._lock:
            self._held.difference_update(outbound_ids)
            self.space.notify_all()

    def add(self, claims: list[OutboundClaim]) -> None:
        for claim in claims:
            try:
                segments = split_text(claim.text, self.refs.next())
            except ValueError as exc:
                self.report(Outcome(claim.id, "failed", error=str(exc)))
                continue
            message = Outgoing(claim, segments, ids=[""] * len(segments))
            with self._lock:
                self._held.add(claim.id)
                self._queue.extend(Pending(message, s) for s in segments)
        self.wake()

    # -- socket side --------------------------------------------------------
    @property
    def inflight(self) -> int:
        return len(self._inflight)

    def oldest_sent_at(self) -> float | None:
        """The first in flight is the oldest: submitted in time order, a dict keeps that order."""
        for _, sent_at in self._inflight.values():
            return sent_at
        return None

    def sendable(self, now: float) -> int:
        """How many segments may be submitted now (window room, queue, no throttle pause)."""
        if now < self.paused_until:
            return 0
        with self._lock:
            return min(self.link.window - len(self._inflight), len(self._queue))

    def next_ready(self, now: float) -> Pending | None:
        """The next segment to submit if the window and any throttle pause allow it."""
        if now < self.paused_until or len(self._inflight) >= self.link.window:
            return None
        with self._lock:
            while self._queue:
                pending = self._queue.popleft()
                if not pending.message.finished:
                    return pending
        return None

    def push_back(self, pending: Pending) -> None:
        """Not accepted after all (the SMSC throttled it): first in line again."""
        with self._lock:
            self._queue.appendleft(pending)

    def submitted(self, sequence: int, pending: Pending, now: float) -> None:
        self._inflight[sequence] = (pending, now)
        metrics.INFLIGHT.labels(self.link.name).set(len(self._inflight))

    def submit_deadline(self, not_before: float) -> float | None:
        """When the socket thread should try to submit again, None while there is nothing to
        send or only a submit_sm_resp can make room (the window is full).

        With a full window and segments queued, a deadline of `not_before`
        (already past) made the socket thread's select() return at once, again
        and again until a response came: a core spinning on a busy link.
        """
        with self._lock:
            if not self._queue or len(self._inflight) >= self.link.window:
                return None
        return max(not_before, self.paused_until)

    def owns(self, sequence: int) -> bool:
        return sequence in self._inflight

    def on_response(self, sequence: int, status: int, message_id: object, now: float) -> None:
        entry = self._inflight.pop(sequence, None)
        metrics.INFLIGHT.labels(self.link.name).set(len(self._inflight))
        if entry is None:
            log.warning("link %s: submit_sm_resp for unknown sequence %d", self.link.name, sequence)
            return
        pending, sent_at = entry
        message = pending.message
        if message.finished:
            return
        # Sent before the last pause began: an answer to the burst that pause was for.
        earlier_burst = sent_at < self._paused_at
        if status == consts.SMPP_ESME_ROK:
            metrics.SUBMITS.labels(self.link.name, "accepted").inc()
            if not earlier_burst:
                self._pause_s = PAUSE_MIN_S
            message.ids[pending.segment.index - 1] = canonical_id(message_id)  # type: ignore[arg-type]
            message.accepted += 1
            if message.accepted == len(message.segments):
                self._finish(message, Outcome(message.claim.id, "sent", tuple(message.ids)))
        elif status in THROTTLING:
            metrics.THROTTLES.labels(self.link.name).inc()
            self.push_back(pending)
            if earlier_burst:
                return
            self._paused_at = now
            self.paused_until = now + self._pause_s
            log.warning(
                "link %s: %s, pausing %.1fs", self.link.name, status_text(status), self._pause_s
            )
            self._pause_s = min(self._pause_s * 2, PAUSE_MAX_S)
        elif status in TEMPORARY and (message.accepted or self._in_flight(message)):
            # Other parts are with the SMSC: retrying the row would send them twice. This part
            # goes again on its own (same reference: the handset still joins them), a few times.
            if message.part_retries >= PART_RETRIES:
                self._fail(message, status)
                return
            metrics.SUBMITS.labels(self.link.name, "retry").inc()
            message.part_retries += 1
            self.push_back(pending)
        elif status in TEMPORARY:
            metrics.SUBMITS.labels(self.link.name, "retry").inc()
            self._finish(message, Outcome(message.claim.id, "retry", error=status_text(status)))
        else:
            self._fail(message, status)

    def _in_flight(self, message: Outgoing) -> bool:
        return any(pending.message is message for pending, _ in self._inflight.values())

    def _fail(self, message: Outgoing, status: int) -> None:
        metrics.SUBMITS.labels(self.link.name, "failed").inc()
        error = status_text(status)
        if message.accepted:
            error += f" after {message.accepted} of {len(message.segments)} parts were accepted"
        self._finish(message, Outcome(message.claim.id, "failed", error=error))

    def connection_lost(self) -> None:
        """Segments in flight may or may not have reached the SMSC: never sent twice.

        Their messages fail visibly (as the sweep does for expired leases);
        messages not yet started go back to the outbox for the next bind.
        """
        for pending, _ in self._inflight.values():
            if not pending.message.finished:
                metrics.SUBMITS.labels(self.link.name, "unknown").inc()
                self._finish(
                    pending.message,
                    Outcome(
                        pending.message.claim.id,
                        "failed",
                        error="connection lost before submit_sm_resp; the SMSC may have it",
                    ),
                )
        self._inflight.clear()
        metrics.INFLIGHT.labels(self.link.name).set(0)
        with self._lock:
            queued = list(self._queue)
        for pending in queued:
            message = pending.message
            if not message.finished and message.accepted == 0:
                self._finish(
                    message,
                    Outcome(
                        message.claim.id,
                        "retry",
                        error="link down",
                        delay_s=RETRY_AFTER_LINK_LOSS_S,
                    ),
                )
        with self._lock:
            self._queue = deque(p for p in self._queue if not p.message.finished)

    def _finish(self, message: Outgoing, outcome: Outcome) -> None:
        """Report it; the row stays held until `release` (its outcome is committed)."""
        message.finished = True
        self.report(outcome)
