"""Durable storage of the parts of concatenated MO messages until the whole has arrived.

Each part is committed before its deliver_sm_resp. A part is identified by a
digest of its sender, recipient, reference, position and bytes, so a re-delivered
part is recognised; parts stay (marked with the inbound message they became)
for the link's dedup window after assembly, which also catches late re-deliveries.
An 8-bit reference wraps at 255: a new message reusing the reference of an
unfinished one is detected by a repeated position with different bytes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class SmppMoPart(Base):
    __tablename__ = "smpp_mo_parts"
    __table_args__ = (
        UniqueConstraint("link", "digest"),
        Index("ix_smpp_mo_parts_group", "link", "sender", "recipient", "ref", "total"),
        Index("ix_smpp_mo_parts_open", "link", "inbound_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    link: Mapped[str] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(32))
    ref: Mapped[int] = mapped_column()  # 0-255 (8-bit UDH) or 0-65535 (16-bit UDH, sar_*)
    total: Mapped[int] = mapped_column(SmallInteger)
    seq: Mapped[int] = mapped_column(SmallInteger)
    data_coding: Mapped[int] = mapped_column(SmallInteger)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    digest: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    inbound_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id", ondelete="CASCADE"), default=None
    )
