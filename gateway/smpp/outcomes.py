"""What became of a submitted message, and an MO or receipt to persist: the database input."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from gateway.smpp.mo import BinaryMo, MoMessage
from gateway.smpp.receipts import Receipt


@dataclass(frozen=True)
class Outcome:
    """The final word on one outbox row from this link: sent, to retry, or failed."""

    outbound_id: int
    kind: Literal["sent", "retry", "failed"]
    external_ids: tuple[str, ...] = ()
    error: str = ""
    delay_s: float | None = None


@dataclass(frozen=True)
class Delivered:
    """A deliver_sm or data_sm to persist; `reply(command_status)` answers it once that is
    committed."""

    content: Receipt | MoMessage | BinaryMo | None
    reply: Callable[[int], None] = field(repr=False)
