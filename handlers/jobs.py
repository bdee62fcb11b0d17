"""RQ jobs of handlers/: turn stored inbound messages into complaints and replies."""

from __future__ import annotations

import logging
import time
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Label,
    Row,
    Select,
    bindparam,
    column,
    func,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session

from handlers import in_hand
from handlers.dispatch import handle_group
from models import actions, directory
from models.actions import Channel
from models.base import in_state, utcnow
from models.db import on_postgresql, picked_once, session_scope
from models.inbound import InboundMessage, InboundState
from models.phone import reporter_key
from models.queues import wake_inbound

log = logging.getLogger(__name__)


GROUP = 100  # messages per transaction: one commit for many, a short write lock on SQLite
DRAIN_S = 1.0  # a job files this long, then hands on: jobs of other queues wait no longer
FILING_LOCK = 1708  # PostgreSQL advisory lock held by the worker filing a partial group
# A turn held this long is a filer that does not commit (hung, stopped): filed beside it.
TURN_WAIT_S = 2.0
_WAIT_TURN = select(func.lapor_wait_turn(FILING_LOCK, bindparam("wait_ms", type_=Integer)))


def process_inbound(ids: list[int]) -> None:
    """Handle each waiting message exactly once, many per transaction.

    The claim (received -> processed) commits together with everything the
    handlers wrote, so a crash leaves the messages `received` for the sweep,
    and a second job for the same id finds nothing to do. One claim and one
    commit per group instead of per message is what lets a busy link keep
    up. A job takes the oldest waiting messages, `ids` among them (they are
    what woke it: a job that starts takes every message still waiting, as
    models.queues.wake_inbound relies on), a group at a time until a claim
    finds nothing, for up to DRAIN_S: on a busy link the next messages have
    arrived while a group was filed, and taking them in the same job saves
    RQ's few milliseconds of CPU a job (bench_smpp.py at 500 MO/s: a job per
    group before, a group every 20 ms). If anything in a group fails, the
    group is rolled back whole and its messages handled again one per
    transaction, so only the failing one is marked failed.
    """
    deadline = time.monotonic() + DRAIN_S
    while True:
        claimed: list[int] = []
        try:
            _process_group(None, claimed)
        except Exception:
            log.warning("inbound group of %d failed; one by one", len(claimed), exc_info=True)
            _process_one_by_one(claimed)
            if len(claimed) < GROUP:  # what could not even be marked failed waits for the sweep
                return
        if not claimed:
            return
        if time.monotonic() >= deadline:
            wake_inbound([])  # more may be waiting: a fresh job, behind whatever else is queued
            return


def _process_one_by_one(group: list[int], attempt: int = 1) -> None:
    """Each message in a transaction of its own: `attempt` is how many times alone (notes)."""
    for inbound_id in group:
        try:
            _process_group([inbound_id], [], attempt)
        except Exception as exc:
            log.exception("inbound=%d failed", inbound_id)
            _mark_failed_safely(inbound_id, exc)


def _process_group(ids: list[int] | None, claimed: list[int], attempt: int = 1) -> None:
    """Claim `ids` (None: the oldest GROUP waiting) and handle them in one transaction.

    Any failure rolls all of it back; `claimed` then still tells which
    messages the group held.
    """
    try:
        with session_scope() as session:
            if ids is None:
                messages = claim_group(session)
            else:
                messages = _claim(session, InboundMessage.id.in_(ids), len(ids))
            claimed[:] = [message.id for message in messages]
            if claimed:
                in_hand.note(claimed, attempt=in_hand.GROUP if ids is None else attempt)
            # By sender, each sender's messages in order (their reporter's row is locked
            # until the group commits, see actions.ensure_reporters).
            messages.sort(key=lambda m: (reporter_key(m.sender), m.id))
            handle_group(session, messages)
    finally:
        if claimed:
            in_hand.done()


def claim_group(session: Session) -> list[InboundMessage]:
    """The oldest waiting messages, up to GROUP; while another worker files a partial group,
    topped up with what arrives until that worker has committed.

    Two workers filing side by side at a moderate rate split the traffic into
    groups of a few messages each, and a group costs milliseconds of CPU
    whatever its size. So a worker that finds less than a full group while
    another one files waits for that one's commit (a PostgreSQL advisory
    lock, held to the end of the filer's transaction) and then tops its
    group up with what arrived meanwhile: bigger groups, claimed the moment
    the other commits, with no RQ round trip in between (bench_smpp.py: a
    quarter less worker CPU a message at 500 MO/s). A full group is filed
    beside the other one: a backlog still has every worker. SQLite has one
    writer anyway. A turn not given back within TURN_WAIT_S is not waited for
    any longer: a filer whose transaction never ends must not stop the others.
    """
    if not on_postgresql(session):
        return claim_oldest(session, GROUP)
    claimed = _claim_answered(session, _claim_in_turn(), GROUP)
    messages = [message for message, *_ in claimed]
    turn = bool(claimed) and claimed[0].turn  # nothing claimed: the turn is not known
    if not turn and len(messages) < GROUP:
        if not session.scalar(_WAIT_TURN, {"wait_ms": int(TURN_WAIT_S * 1000)}):
            log.warning(
                "the filing turn has been held for over %.1f s (a worker hung or stopped while"
                " filing?): this group is filed beside it",
                TURN_WAIT_S,
            )
        if messages:
            messages += claim_oldest(session, GROUP - len(messages))
        else:  # the directory's version is still to read: with this claim, not on its own
            messages = [m for m, _ in _claim_answered(session, _claim_reading_version(), GROUP)]
    return messages


def _claim_answered(session: Session, statement: Select[Any], limit: int) -> list[Row[Any]]:
    """A claim that also reads the directory's version: what the group's routing uses."""
    claimed = session.execute(statement, {"limit": limit, "processed_at": utcnow()}).all()
    if claimed:
        directory.read_with(session, claimed[0].directory_version)
    return claimed


def claim_oldest(session: Session, limit: int) -> list[InboundMessage]:
    """Up to `limit` of the oldest waiting messages, now `processed` (see _claim)."""
    statement = _claim_oldest(on_postgresql(session))
    return list(session.scalars(statement, {"limit": limit, "processed_at": utcnow()}))


def _claim(session: Session, which: ColumnElement[bool], limit: int) -> list[InboundMessage]:
    """Up to `limit` of the messages `which` picks still waiting, oldest first, now `processed`:
    theirs to handle, in this transaction; one statement.

    SKIP LOCKED: a message another worker has claimed is theirs (they handle
    it or roll back, leaving it for the sweep) and nobody waits for them.
    """
    statement = _claim_statement(on_postgresql(session), which, limit)
    return list(session.scalars(statement, {"processed_at": utcnow()}))


_LIMIT = bindparam("limit", type_=Integer, literal_execute=True)  # see _claim_oldest


@cache
def _claim_oldest(postgresql: bool) -> Select[tuple[InboundMessage]]:
    """claim_group's statement, built once: building and cache-keying it for every group was
    a third of the claim's Python CPU. The limit is written into the SQL (as in_state does
    the state): bound, a generic plan cannot know how few rows the claim takes, and joined
    them to a scan of the whole table."""
    return _claim_statement(postgresql, true(), _LIMIT)


@cache
def _claim_in_turn() -> Select[tuple[InboundMessage, bool, int | None]]:
    """claim_group's claim on PostgreSQL, which also tries for the filing turn and reads the
    directory's version (models/directory.py): one round trip where asking for the turn,
    claiming and reading the version were three, in every group. RETURNING gives each
    message with both answers (`turn`, `directory_version`)."""
    turn = (
        select(func.pg_try_advisory_xact_lock(FILING_LOCK).label("turn"))
        .cte("turn")
        .prefix_with("MATERIALIZED")
    )
    answers = (select(turn.c.turn).scalar_subquery().label("turn"), _version_answer())
    return _claim_statement(True, true(), _LIMIT, answers)


@cache
def _claim_reading_version() -> Select[tuple[InboundMessage, int | None]]:
    """claim_group's top-up after it waited its turn, when its first claim found nothing:
    with the directory's version, which was otherwise a round trip of its own."""
    return _claim_statement(True, true(), _LIMIT, (_version_answer(),))


def _version_answer() -> Label[int]:
    """The directory's version as a column of a claim's RETURNING (see _claim_answered)."""
    return directory.version_column().label("directory_version")


def _claim_statement(
    postgresql: bool,
    which: ColumnElement[bool],
    limit: int | BindParameter[int],
    answers: tuple[Label[Any], ...] = (),
) -> Select[Any]:
    """The claim's UPDATE ... RETURNING, its rows loaded as InboundMessage objects (and
    `answers` beside them).

    A Core UPDATE read through from_statement, not an ORM-enabled UPDATE: the ORM
    copies that statement at every execution, so SQLAlchemy walked the whole of it
    again for its cache key, every claim (an empty claim 1.7-1.9 against 0.9-1.3 ms
    of CPU, bench/NOTES.md).
    """
    table = InboundMessage.__table__
    claim = (
        update(table)
        .where(
            picked_once(
                postgresql,
                table.c.id,
                waiting(which, limit),
                in_state(table.c.state, InboundState.RECEIVED),
            )
        )
        .values(
            state=InboundState.PROCESSED,
            processed_at=bindparam("processed_at", type_=InboundMessage.processed_at.type),
        )
        .returning(*table.c, *answers)
    )
    columns = [column(answer.name, answer.type) for answer in answers]
    return select(InboundMessage, *columns).from_statement(claim)


def waiting(which: ColumnElement[bool], limit: int | BindParameter[int]) -> Select[tuple[int]]:
    """The oldest `limit` waiting messages `which` picks, locked, skipping those taken."""
    return (
        select(InboundMessage.id)
        .where(which, in_state(InboundMessage.state, InboundState.RECEIVED))
        .order_by(InboundMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


ALONE_TRIES = 2  # a message is failed once its filing alone killed the worker this often


class KilledItsWorker(Exception):
    """Filing this message on its own, the worker process died, ALONE_TRIES times."""


def recover_interrupted() -> None:
    """What worker processes on this machine were filing when they died (handlers.in_hand).

    A group's messages are filed again one at a time, so those that did
    nothing wrong go through. One whose filing alone killed its worker is
    filed alone once more (a worker may die for reasons of its own: a stop
    timeout, the OOM killer choosing it for another's memory), and failed
    visibly, its sender told, once that killed its worker too: not kill every
    worker that takes it, for ever.
    """
    try:
        notes = in_hand.take_interrupted()
    except OSError:  # a worker starts whatever its disk says
        log.exception("filing notes of dead workers unreadable")
        return
    for interrupted in notes:
        if interrupted.attempt >= ALONE_TRIES:
            log.error(
                "worker %s died filing inbound=%s alone, %d times: failed, for an operator",
                interrupted.process,
                interrupted.ids,
                interrupted.attempt,
            )
            for inbound_id in interrupted.ids:
                _mark_failed_safely(
                    inbound_id, KilledItsWorker("its worker process died filing it on its own")
                )
        else:
            log.warning(
                "worker %s died filing %d messages: each is filed again on its own",
                interrupted.process,
                len(interrupted.ids),
            )
            _process_one_by_one(interrupted.ids, attempt=interrupted.attempt + 1)


def _mark_failed_safely(inbound_id: int, exc: Exception) -> None:
    try:
        _mark_failed(inbound_id, exc)
    except Exception:  # the row stays `received` and the sweep retries it
        log.exception("inbound=%d could not be marked failed", inbound_id)


def _mark_failed(inbound_id: int, exc: Exception) -> None:
    """Keep the message, visible to operators, and tell the citizen it is safe with us.

    Only while it still waits, checked by the UPDATE itself: another worker may have
    claimed and filed it meanwhile, and a read-then-write turned its `processed` into
    `failed` (a filed complaint, a "temporary error" SMS, and a second complaint on retry).
    """
    with session_scope() as session:
        failed = session.scalars(
            update(InboundMessage)
            .where(
                InboundMessage.id == inbound_id,
                InboundMessage.state == InboundState.RECEIVED,
            )
            .values(state=InboundState.FAILED, error=f"{type(exc).__name__}: {exc}"[:1000])
            .returning(InboundMessage)
            .execution_options(synchronize_session=False)
        ).all()
        if not failed:
            return
        (inbound,) = failed
        actions.queue_sms(
            session,
            to=Channel(inbound.channel, inbound.link, inbound.sender),
            template="temporary_error",
            key=f"reply:{inbound.id}",
        )
