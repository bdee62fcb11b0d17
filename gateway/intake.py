"""Store an inbound message durably, then wake whoever handles it.

Every channel calls `accept`: the message is committed before the channel
acknowledges it, a repeated delivery is a no-op, and a database outage is
reported as TemporarilyUnavailable so the channel asks the telco to retry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from models.db import session_scope
from models.inbound import store_inbound
from models.phone import mask

log = logging.getLogger(__name__)

InboundListener = Callable[[list[int]], None]
_listeners: list[InboundListener] = []


class TemporarilyUnavailable(Exception):
    """The message could not be stored; the sender must retry (HTTP 503, ESME_RX_T_APPN)."""


@dataclass(frozen=True)
class Inbound:
    channel: str
    link: str
    external_id: str
    sender: str
    recipient: str
    text: str
    parts: int = 1
    incomplete: bool = False


def set_inbound_listener(listener: InboundListener) -> None:
    """app.py wires the handler queue here; gateway/ never imports handlers/."""
    _listeners[:] = [listener]


def _storable(value: str) -> str:
    """What a database can hold: refusing would make a telco retry forever.

    NUL carries nothing in an SMS (handsets and SMSCs pad with it), so it is
    dropped. Half a UTF-16 pair alone (JSON may escape one: "\\ud83d") is no
    character UTF-8 can write; it becomes U+FFFD, as a decoder would make it.
    """
    value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


def accept(message: Inbound) -> tuple[int, bool]:
    """Commit the message; return (id, created). Raises TemporarilyUnavailable."""
    try:
        with session_scope() as session:
            inbound_id, created = store_inbound(
                session,
                channel=message.channel,
                link=message.link,
                external_id=_storable(message.external_id),
                sender=_storable(message.sender),
                recipient=_storable(message.recipient),
                text=_storable(message.text),
                parts=message.parts,
                incomplete=message.incomplete,
            )
    except SQLAlchemyError as exc:
        log.error("inbound not stored channel=%s link=%s: %s", message.channel, message.link, exc)
        raise TemporarilyUnavailable(str(exc)) from exc
    log.info(
        "inbound id=%d channel=%s link=%s from=%s new=%s",
        inbound_id,
        message.channel,
        message.link,
        mask(message.sender),
        created,
    )
    if created:
        notify([inbound_id])
    return inbound_id, created


def notify(ids: list[int]) -> None:
    for listener in _listeners:
        try:
            listener(ids)
        except Exception:
            log.warning("inbound listener failed; the sweep will recover", exc_info=True)
