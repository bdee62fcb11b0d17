"""deliver_sm or data_sm -> its receipt, (part of a) mobile-originated text, or binary."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from gateway.smpp.codec import decode_mo_text, text_kind
from gateway.smpp.receipts import Receipt, parse_receipt

ESM_TYPE_MASK = 0x3C
ESM_RECEIPT_TYPES = (0x04, 0x08, 0x10, 0x20)  # SMSC receipt, SME ack, manual ack, notification
ESM_UDHI = 0x40
IE_CONCAT_8 = 0x00
IE_CONCAT_16 = 0x08


@dataclass(frozen=True)
class Concat:
    """Where a part sits in its concatenated message (UDH 8/16-bit reference or sar_* TLVs)."""

    ref: int
    total: int
    seq: int


@dataclass(frozen=True)
class MoMessage:
    """A mobile-originated text (or one part of it). `payload` is user data without the UDH."""

    sender: str
    recipient: str
    data_coding: int
    payload: bytes
    concat: Concat | None

    @property
    def digest(self) -> str:
        """Identifies a re-delivery: SMPP gives an MO no id of its own."""
        concat = self.concat or Concat(0, 1, 1)
        h = hashlib.sha1(usedforsecurity=False)
        for value in (self.sender, self.recipient, concat.ref, concat.total, concat.seq):
            h.update(str(value).encode() + b"\x00")
        h.update(bytes([self.data_coding]) + self.payload)
        return h.hexdigest()

    def text(self) -> str:
        return decode_mo_text(self.data_coding, self.payload)


@dataclass(frozen=True)
class BinaryMo:
    """A binary MO (data_coding 2/4, ports): acknowledged and logged, never stored."""

    sender: str
    data_coding: int
    length: int


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def split_udh(short_message: bytes) -> tuple[Concat | None, bytes]:
    """The concatenation info in a UDH (if any) and the user data after it."""
    if not short_message:
        return None, b""
    udhl = short_message[0]
    udh, body = short_message[1 : 1 + udhl], short_message[1 + udhl :]
    concat = None
    pos = 0
    while pos + 2 <= len(udh):
        iei, length = udh[pos], udh[pos + 1]
        value = udh[pos + 2 : pos + 2 + length]
        if iei == IE_CONCAT_8 and length == 3 and len(value) == 3:
            concat = Concat(value[0], value[1], value[2])
        elif iei == IE_CONCAT_16 and length == 4 and len(value) == 4:
            concat = Concat(int.from_bytes(value[:2], "big"), value[2], value[3])
        pos += 2 + length
    return concat, body


def _valid(concat: Concat | None) -> Concat | None:
    """A single-part or nonsensical concatenation is treated as a plain message."""
    if concat and concat.total > 1 and 1 <= concat.seq <= concat.total:
        return concat
    return None


def classify(pdu: Any) -> Receipt | MoMessage | BinaryMo | None:
    """Read a python-smpplib DeliverSM or DataSM. None: a receipt we cannot read (acked,
    logged). A DataSM has no short_message: its text is in message_payload."""
    esm_class = pdu.esm_class or 0
    data_coding = pdu.data_coding or 0
    body = pdu.message_payload or getattr(pdu, "short_message", None) or b""
    if (esm_class & ESM_TYPE_MASK) in ESM_RECEIPT_TYPES:
        return parse_receipt(body, pdu.receipted_message_id, pdu.message_state)
    sender, recipient = _text(pdu.source_addr), _text(pdu.destination_addr)
    concat: Concat | None = None
    if esm_class & ESM_UDHI:
        concat, body = split_udh(body)
    if concat is None and pdu.sar_total_segments:
        concat = Concat(
            pdu.sar_msg_ref_num or 0, pdu.sar_total_segments, pdu.sar_segment_seqnum or 0
        )
    if text_kind(data_coding) == "binary":
        return BinaryMo(sender, data_coding, len(body))
    return MoMessage(sender, recipient, data_coding, body, _valid(concat))
