"""RQ jobs of handlers/: turn stored inbound messages into complaints and replies."""

from __future__ import annotations

import logging
import time

from sqlalchemy import ColumnElement, Select, select, true, update
from sqlalchemy.orm import Session

from handlers.dispatch import handle_group
from models import actions
from models.actions import Channel
from models.base import in_state, utcnow
from models.db import session_scope
from models.inbound import InboundMessage, InboundState
from models.phone import reporter_key
from models.queues import wake_inbound

log = logging.getLogger(__name__)


GROUP = 100  # messages per transaction: one commit for many, a short write lock on SQLite
DRAIN_S = 5.0  # a job drains a backlog this long, then leaves the rest to a new job


def process_inbound(ids: list[int]) -> None:
    """Handle each waiting message exactly once, many per transaction.

    The claim (received -> processed) commits together with everything the
    handlers wrote, so a crash leaves the messages `received` for the sweep,
    and a second job for the same id finds nothing to do. One claim and one
    commit per group instead of per message is what lets a busy link keep
    up. A job takes the oldest waiting messages, `ids` among them (they are
    what woke it: a job that starts takes every message still waiting, as
    models.queues.wake_inbound relies on), a group at a time while its
    groups come out full. If anything in a group fails, the group is rolled
    back whole and its messages handled again one per transaction, so only
    the failing one is marked failed.
    """
    deadline = time.monotonic() + DRAIN_S
    while True:
        claimed: list[int] = []
        try:
            full = _process_group(None, claimed) == GROUP
        except Exception:
            log.warning("inbound group of %d failed; one by one", len(claimed), exc_info=True)
            _process_one_by_one(claimed)
            full = len(claimed) == GROUP
        if not full:
            return
        if time.monotonic() >= deadline:
            wake_inbound([])  # more is waiting: a fresh job, behind whatever else is queued
            return


def _process_one_by_one(group: list[int]) -> None:
    for inbound_id in group:
        try:
            _process_group([inbound_id], [])
        except Exception as exc:
            log.exception("inbound=%d failed", inbound_id)
            _mark_failed_safely(inbound_id, exc)


def _process_group(ids: list[int] | None, claimed: list[int]) -> int:
    """Claim `ids` (None: the oldest GROUP waiting) and handle them in one transaction.

    Any failure rolls all of it back; `claimed` then still tells which
    messages the group held. Returns how many messages it handled.
    """
    with session_scope() as session:
        which = true() if ids is None else InboundMessage.id.in_(ids)
        messages = _claim(session, which, GROUP if ids is None else len(ids))
        claimed[:] = [message.id for message in messages]
        # By sender, each sender's messages in order (their reporter's row is locked
        # until the group commits, see actions.ensure_reporters).
        messages.sort(key=lambda m: (reporter_key(m.sender), m.id))
        handle_group(session, messages)
        return len(messages)


def _claim(session: Session, which: ColumnElement[bool], limit: int) -> list[InboundMessage]:
    """Up to `limit` of the messages `which` picks still waiting, oldest first, now `processed`.

    SKIP LOCKED: a message another worker has claimed is theirs (they handle
    it or roll back, leaving it for the sweep) and nobody waits for them. Two
    statements: an UPDATE ... WHERE id IN (SELECT ... LIMIT ... SKIP LOCKED)
    may run its subquery more than once and claim more than `limit`. The
    UPDATE checks the state again: SQLite has no row locks, only one writer.
    """
    ids = list(session.scalars(waiting(which, limit)))
    if not ids:
        return []
    return list(
        session.scalars(
            update(InboundMessage)
            .where(
                InboundMessage.id.in_(ids), in_state(InboundMessage.state, InboundState.RECEIVED)
            )
            .values(state=InboundState.PROCESSED, processed_at=utcnow())
            .returning(InboundMessage)
        ).all()
    )


def waiting(which: ColumnElement[bool], limit: int) -> Select[tuple[int]]:
    """The oldest `limit` waiting messages `which` picks, locked, skipping those taken."""
    return (
        select(InboundMessage.id)
        .where(which, in_state(InboundMessage.state, InboundState.RECEIVED))
        .order_by(InboundMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def _mark_failed_safely(inbound_id: int, exc: Exception) -> None:
    try:
        _mark_failed(inbound_id, exc)
    except Exception:  # the row stays `received` and the sweep retries it
        log.exception("inbound=%d could not be marked failed", inbound_id)


def _mark_failed(inbound_id: int, exc: Exception) -> None:
    """Keep the message, visible to operators, and tell the citizen it is safe with us."""
    with session_scope() as session:
        inbound = session.get(InboundMessage, inbound_id)
        if inbound is None or inbound.state == InboundState.PROCESSED:
            return
        inbound.state = InboundState.FAILED
        inbound.error = f"{type(exc).__name__}: {exc}"[:1000]
        actions.queue_sms(
            session,
            to=Channel(inbound.channel, inbound.link, inbound.sender),
            template="temporary_error",
            key=f"reply:{inbound.id}",
        )
