"""RQ jobs of handlers/: turn stored inbound messages into complaints and replies."""

from __future__ import annotations

import logging

from sqlalchemy import update

from handlers.dispatch import handle_inbound
from models import actions
from models.actions import Channel
from models.base import utcnow
from models.db import session_scope
from models.inbound import InboundMessage, InboundState

log = logging.getLogger(__name__)


def process_inbound(ids: list[int]) -> None:
    """Handle each message exactly once, each in its own transaction.

    The claim (received -> processed) commits together with everything the
    handler wrote, so a crash leaves the message `received` for the sweep,
    and a second job for the same id finds nothing to do.
    """
    for inbound_id in ids:
        try:
            _process_one(inbound_id)
        except Exception as exc:
            log.exception("inbound=%d failed", inbound_id)
            try:
                _mark_failed(inbound_id, exc)
            except Exception:  # the row stays `received` and the sweep retries it
                log.exception("inbound=%d could not be marked failed", inbound_id)


def _process_one(inbound_id: int) -> None:
    with session_scope() as session:
        claimed = session.execute(
            update(InboundMessage)
            .where(InboundMessage.id == inbound_id, InboundMessage.state == InboundState.RECEIVED)
            .values(state=InboundState.PROCESSED, processed_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            return
        inbound = session.get(InboundMessage, inbound_id)
        assert inbound is not None
        handle_inbound(session, inbound)


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
