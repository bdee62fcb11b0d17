"""What the fuzz harnesses and their hypothesis twins (tests/fuzz) both drive: no atheris here.

`handle_sms` takes a text in through the real intake (gateway.intake.accept:
committed, NUL dropped, a repeated delivery a no-op) and handles it as the
worker would, in this process; `SmscBytes` is the SMSC's side of a socket
for python-smpplib's reader.
"""

from __future__ import annotations

import uuid

from gateway.intake import Inbound, accept
from handlers.dispatch import handle_inbound
from models.db import session_scope
from models.inbound import InboundMessage


def handle_sms(sender: str, text: str, channel: str = "http", link: str = "telco-a") -> int:
    """Store one SMS as a channel does, then handle it as the worker does; its inbound id."""
    inbound_id, _ = accept(Inbound(channel, link, uuid.uuid4().hex, sender, "1708", text))
    with session_scope() as session:
        inbound = session.get(InboundMessage, inbound_id)
        assert inbound is not None
        handle_inbound(session, inbound)
    return inbound_id


class SmscBytes:
    """The SMSC's side of the socket: these bytes, then end of stream."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def recv(self, size: int) -> bytes:
        chunk, self.data = self.data[:size], self.data[size:]
        return chunk
