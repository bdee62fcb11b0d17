"""One SMPP socket and the one thread that owns it (python-smpplib is not thread-safe).

The thread binds, then multiplexes with select(): PDUs from the SMSC, acks
handed back by the database thread, segments from the submitter (within the
window and the TPS limit), enquire_link on a timer. Any peer misbehaviour ends
the connection, never the thread: it reconnects with exponential backoff and
jitter.
"""

from __future__ import annotations

import contextlib
import logging
import random
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from smpplib import command_codes, consts, exceptions, smpp
from smpplib.client import Client

from gateway.smpp import metrics
from gateway.smpp.config import LinkConfig
from gateway.smpp.limiter import TpsLimiter
from gateway.smpp.mo import classify
from gateway.smpp.outcomes import Delivered
from gateway.smpp.submitter import Pending, Submitter, status_text
from gateway.smpp.wire import (
    MO_COMMANDS,
    UnreadablePdu,
    mo_resp,
    read_pdu,
    send_pdus,
    submit_sm,
)

log = logging.getLogger(__name__)

Role = Literal["trx", "tx", "rx"]
BIND_COMMAND = {"trx": "bind_transceiver", "tx": "bind_transmitter", "rx": "bind_receiver"}
STABLE_AFTER_S = 10.0  # a bind that lasted this long resets the backoff
READ_BURST = 64
# What needs no answer: responses, generic_nack, alert_notification (SMPP 3.4, 4.12.1).
UNANSWERED = frozenset({"generic_nack", "alert_notification"}) | {
    name for name in command_codes.commands if name.endswith("_resp")
}
UNBIND_WAIT_S = 1.0
STOP_WAIT_S = 5.0  # at most this long, on stopping, for the answers to submit_sm in flight
MO_NAMES = {command_id: name for name, command_id in MO_COMMANDS.items()}


class LinkDead(Exception):
    """The connection is no longer usable (peer closed, timer expired, unbind)."""


class BindRefused(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status_text(status))
        self.status = status


@dataclass
class Hooks:
    """What a session needs from its link."""

    deliver: Callable[[Delivered], None]
    submitter: Submitter | None  # None for a receiver
    limiter: TpsLimiter | None
    on_state: Callable[[str, bool, str], None]  # (role, bound, detail)


def backoff_delay(attempt: int, low: float, high: float) -> float:
    """Exponential backoff with jitter: attempt 1 waits about `low`, then doubles up to `high`."""
    ceiling = min(high, low * 2 ** max(attempt - 1, 0))
    return random.uniform(ceiling / 2, ceiling)


class Session(threading.Thread):
    def __init__(self, link: LinkConfig, role: Role, hooks: Hooks, stop: threading.Event) -> None:
        super().__init__(name=f"smpp-{link.name}-{role}", daemon=True)
        self.link = link
        self.role = role
        self.hooks = hooks
        self.stop_event = stop
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        # (generation, deliver_sm or data_sm, sequence, status)
        self._replies: deque[tuple[int, str, int, int]] = deque()
        self._generation = 0
        self.bound = threading.Event()

    # -- called from other threads -------------------------------------------------
    def wake(self) -> None:
        # BlockingIOError: a full pipe, a wake-up is pending anyway. OSError (EBADF): the
        # thread has stopped and closed its pipe, so there is nobody left to wake.
        with contextlib.suppress(OSError):
            self._wake_w.send(b"!")

    def reply(self, generation: int, command: str, sequence: int, status: int) -> None:
        """Queue the answer to a deliver_sm or data_sm (`command`); dropped if that connection
        is gone (the SMSC re-delivers)."""
        self._replies.append((generation, command, sequence, status))
        self.wake()

    # -- the thread ----------------------------------------------------------------
    def run(self) -> None:
        attempt = 0
        while not self.stop_event.is_set():
            if attempt:
                delay = backoff_delay(attempt, self.link.reconnect_min_s, self.link.reconnect_max_s)
                log.info("link %s/%s: reconnecting in %.1fs", self.link.name, self.role, delay)
                if self.stop_event.wait(delay):
                    break
                metrics.RECONNECTS.labels(self.link.name).inc()
            attempt += 1
            try:
                client = self._bind()
            except BindRefused as exc:
                metrics.BIND_FAILURES.labels(self.link.name).inc()
                log.error(
                    "link %s/%s: bind refused by %s:%d as %r: %s",
                    self.link.name,
                    self.role,
                    self.link.host,
                    self.link.port,
                    self.link.system_id,
                    exc,
                )
                self.hooks.on_state(self.role, False, f"bind refused: {exc}")
                continue
            except Exception as exc:  # noqa: BLE001 - a peer's odd answer to the bind included
                # (smpplib raises UnknownCommandError, struct.error, ...): retried, never fatal
                metrics.BIND_FAILURES.labels(self.link.name).inc()
                log.warning(
                    "link %s/%s: cannot connect/bind to %s:%d: %s",
                    self.link.name,
                    self.role,
                    self.link.host,
                    self.link.port,
                    exc or type(exc).__name__,
                )
                self.hooks.on_state(self.role, False, f"connect failed: {exc!r}")
                continue
            bound_at = time.monotonic()
            try:
                self._serve(client)
            except (LinkDead, OSError, exceptions.ConnectionError) as exc:
                log.warning(
                    "link %s/%s: connection lost: %s",
                    self.link.name,
                    self.role,
                    exc or type(exc).__name__,
                )
            except Exception:
                log.exception("link %s/%s: session error", self.link.name, self.role)
            finally:
                self._teardown(client)
            if time.monotonic() - bound_at > STABLE_AFTER_S:
                attempt = 1
        self._wake_r.close()
        self._wake_w.close()

    def _bind(self) -> Client:
        client = Client(
            self.link.host,
            self.link.port,
            timeout=self.link.response_timeout_s,
            allow_unknown_opt_params=True,
            logger_name=f"{__name__}.wire",
        )
        try:
            client.connect()
            client._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            getattr(client, BIND_COMMAND[self.role])(
                system_id=self.link.system_id,
                password=self.link.password,
                system_type=self.link.system_type,
                addr_ton=self.link.source_ton,
                addr_npi=self.link.source_npi,
            )
        except exceptions.PDUError as exc:
            client.disconnect()
            status = exc.args[1] if len(exc.args) > 1 else consts.SMPP_ESME_RBINDFAIL
            raise BindRefused(int(status)) from None
        except BaseException:
            client.disconnect()
            raise
        return client

    def _teardown(self, client: Client) -> None:
        self.bound.clear()
        metrics.BOUND.labels(self.link.name, self.role).set(0)
        self.hooks.on_state(self.role, False, "disconnected")
        if self.hooks.submitter is not None:
            self.hooks.submitter.accepting = False
            self.hooks.submitter.connection_lost()
        if self.stop_event.is_set() and client.state != consts.SMPP_CLIENT_STATE_CLOSED:
            with contextlib.suppress(Exception):  # the peer's part of a goodbye is not ours
                self._unbind(client)
        client.disconnect()

    def _unbind(self, client: Client) -> None:
        """Unbind and read until the SMSC's unbind_resp, or its close (briefly): a clean
        goodbye. Either way the session is unbound, as smpplib then knows too (it warns of a
        disconnect "in the bound state" otherwise, which would read as a dropped bind)."""
        unbind = smpp.make_pdu("unbind", client=client)
        client.send_pdu(unbind)
        client._socket.settimeout(UNBIND_WAIT_S)
        deadline = time.monotonic() + UNBIND_WAIT_S
        try:
            while time.monotonic() < deadline:
                pdu = read_pdu(client)
                if pdu.command == "unbind_resp" and pdu.sequence == unbind.sequence:
                    break
            else:
                return
        except exceptions.ConnectionError:  # closed on our unbind: some SMSCs answer no more
            pass
        client.state = consts.SMPP_CLIENT_STATE_OPEN

    def _serve(self, client: Client) -> None:
        self._generation += 1
        generation = self._generation
        self._replies.clear()
        sock = client._socket
        submitter = self.hooks.submitter
        self.bound.set()
        metrics.BOUND.labels(self.link.name, self.role).set(1)
        log.info(
            "link %s/%s: bound to %s:%d", self.link.name, self.role, self.link.host, self.link.port
        )
        self.hooks.on_state(self.role, True, "bound")
        if submitter is not None:
            submitter.wake = self.wake
            submitter.accepting = True
            with submitter.space:
                submitter.space.notify_all()
        enquire: tuple[int, float] | None = None  # (sequence, sent at) awaiting its resp
        last_enquire = time.monotonic()
        next_submit_at = 0.0
        stopping_until: float | None = None
        while True:
            now = time.monotonic()
            self._flush_replies(client, generation)
            if self.stop_event.is_set():
                # Stopping: nothing more goes out, and what is in flight gets its answer
                # (a deploy would otherwise fail a window of replies the SMSC has taken).
                if stopping_until is None:
                    stopping_until = now + min(self.link.response_timeout_s, STOP_WAIT_S)
                    next_submit_at = float("inf")
                if submitter is None or not submitter.inflight or now >= stopping_until:
                    return
            if submitter is not None and now >= next_submit_at:
                next_submit_at = self._submit(client, submitter, now)
            if enquire and now - enquire[1] > self.link.response_timeout_s:
                raise LinkDead("enquire_link unanswered")
            if enquire is None and now - last_enquire >= self.link.enquire_link_s:
                pdu = smpp.make_pdu("enquire_link", client=client)
                client.send_pdu(pdu)
                enquire, last_enquire = (pdu.sequence, now), now
            oldest = submitter.oldest_sent_at() if submitter else None
            if oldest is not None and now - oldest > self.link.response_timeout_s:
                raise LinkDead("submit_sm unanswered")
            timeout = self._timeout(now, enquire, last_enquire, oldest, next_submit_at, submitter)
            readable, _, _ = select.select([sock, self._wake_r], [], [], timeout)
            if self._wake_r in readable:
                self._drain_wake()
            if sock in readable:
                for _ in range(READ_BURST):
                    try:
                        pdu = read_pdu(client)
                    except UnreadablePdu as exc:
                        self._refuse(client, exc)
                        continue
                    if (
                        enquire
                        and pdu.command == "enquire_link_resp"
                        and pdu.sequence == enquire[0]
                    ):
                        enquire = None
                    else:
                        self._dispatch(client, pdu, generation)
                    if not select.select([sock], [], [], 0)[0]:
                        break

    def _timeout(
        self,
        now: float,
        enquire: tuple[int, float] | None,
        last_enquire: float,
        oldest: float | None,
        next_submit_at: float,
        submitter: Submitter | None,
    ) -> float:
        deadlines = [now + 1.0]
        if enquire:
            deadlines.append(enquire[1] + self.link.response_timeout_s)
        else:
            deadlines.append(last_enquire + self.link.enquire_link_s)
        if oldest is not None:
            deadlines.append(oldest + self.link.response_timeout_s)
        retry_at = submitter.submit_deadline(next_submit_at) if submitter else None
        if retry_at is not None:
            deadlines.append(retry_at)
        return max(0.0, min(deadlines) - now)

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass

    def _flush_replies(self, client: Client, generation: int) -> None:
        resps = []
        while self._replies:
            reply_generation, command, sequence, status = self._replies.popleft()
            if reply_generation != generation:
                continue
            resps.append(mo_resp(command, sequence, status))
        send_pdus(client, resps)

    def _submit(self, client: Client, submitter: Submitter, now: float) -> float:
        """Send what the window and the TPS limit allow; return when to try again.

        Tokens are asked for a window's worth at a time: one Redis call per
        burst rather than per segment, on the thread that owns the socket.
        """
        burst: list[Any] = []
        try:
            while True:
                wanted = submitter.sendable(now)
                if not wanted:
                    return 0.0
                limiter = self.hooks.limiter
                granted, wait = limiter.take(wanted) if limiter else (wanted, 0.0)
                if not granted:
                    return now + wait
                for _ in range(granted):
                    pending = submitter.next_ready(now)
                    if pending is None:
                        return 0.0
                    burst.append(self._submit_sm(client, submitter, pending, now))
        finally:
            send_pdus(client, burst)

    def _submit_sm(self, client: Client, submitter: Submitter, pending: Pending, now: float) -> Any:
        """The segment's submit_sm, in flight from now on (sent with the rest of the burst)."""
        claim, segment, link = pending.message.claim, pending.segment, self.link
        pdu = submit_sm(
            client.next_sequence(),
            (link.source_ton, link.source_npi, claim.sender),
            (link.dest_ton, link.dest_npi, claim.recipient.lstrip("+")),
            segment.esm_class,
            segment.data_coding,
            link.registered_delivery,
            segment.short_message,
        )
        submitter.submitted(pdu.sequence, pending, now)
        return pdu

    def _dispatch(self, client: Client, pdu: Any, generation: int) -> None:
        command = pdu.command
        submitter = self.hooks.submitter
        now = time.monotonic()
        if command == "submit_sm_resp" and submitter is not None:
            submitter.on_response(pdu.sequence, pdu.status, pdu.message_id, now)
        elif command in MO_COMMANDS and self.role != "tx":
            self._deliver(pdu, partial(self.reply, generation, command, pdu.sequence))
        elif command == "enquire_link":
            resp = smpp.make_pdu("enquire_link_resp", client=client)
            resp.sequence = pdu.sequence
            client.send_pdu(resp)
        elif command == "unbind":
            resp = smpp.make_pdu("unbind_resp", client=client)
            resp.sequence = pdu.sequence
            client.send_pdu(resp)
            raise LinkDead("the SMSC unbound")
        elif command == "generic_nack" and submitter is not None and submitter.owns(pdu.sequence):
            submitter.on_response(pdu.sequence, pdu.status or consts.SMPP_ESME_RSYSERR, None, now)
        elif command not in UNANSWERED:
            log.warning("link %s/%s: refused %s", self.link.name, self.role, command)
            self._nack(client, pdu.sequence, wrong_bind=command in MO_COMMANDS)
        elif command not in ("enquire_link_resp", "unbind_resp", "alert_notification"):
            log.warning(
                "link %s/%s: ignored %s (status 0x%X)",
                self.link.name,
                self.role,
                command,
                pdu.status or 0,
            )

    def _nack(self, client: Client, sequence: int, wrong_bind: bool) -> None:
        """Refuse a request this ESME does not take (query_sm, submit_sm, ...), or, with
        `wrong_bind`, an MO on a transmitter bind, which may not carry one: not left for the
        SMSC to time out, nor answered in a state that drops the connection."""
        status = consts.SMPP_ESME_RINVBNDSTS if wrong_bind else consts.SMPP_ESME_RINVCMDID
        nack = smpp.make_pdu("generic_nack", client=client, status=status)
        nack.sequence = sequence
        client.send_pdu(nack)

    def _refuse(self, client: Client, exc: UnreadablePdu) -> None:
        """Answer a PDU we cannot read so the peer does not wait for it (and log it)."""
        log.error("link %s/%s: %s", self.link.name, self.role, exc)
        if exc.command_id & 0x80000000:
            return  # a response: nothing to answer
        mo = MO_NAMES.get(exc.command_id)
        if mo is not None and self.role != "tx":
            metrics.MO.labels(self.link.name, "unreadable").inc()
            send_pdus(client, [mo_resp(mo, exc.sequence, consts.SMPP_ESME_RX_P_APPN)])
        else:
            self._nack(client, exc.sequence, wrong_bind=mo is not None)

    def _deliver(self, pdu: Any, reply: Callable[[int], None]) -> None:
        try:
            content = classify(pdu)
        except Exception:
            log.exception("link %s/%s: unreadable %s", self.link.name, self.role, pdu.command)
            content = None
        self.hooks.deliver(Delivered(content, reply))
