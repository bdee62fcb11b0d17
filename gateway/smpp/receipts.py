"""Delivery receipts: the message_state / receipted_message_id TLVs or the `id:... stat:...` text.

SMSCs disagree on message id formats: the submit_sm_resp may say hex while the
receipt says decimal (Kannel's msg-id-type). Ids are stored canonically and a
receipt is matched against each plausible spelling.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

# SMPP 3.4 section 5.2.28 message_state values.
MESSAGE_STATES = {
    1: "enroute",
    2: "delivered",
    3: "expired",
    4: "deleted",
    5: "undeliverable",
    6: "accepted",
    7: "unknown",
    8: "rejected",
}
# The `stat:` words of the Appendix B receipt text.
TEXT_STATES = {
    "ENROUTE": "enroute",
    "DELIVRD": "delivered",
    "DELIVERED": "delivered",
    "EXPIRED": "expired",
    "DELETED": "deleted",
    "UNDELIV": "undeliverable",
    "UNDELIVERABLE": "undeliverable",
    "ACCEPTD": "accepted",
    "ACCEPTED": "accepted",
    "UNKNOWN": "unknown",
    "REJECTD": "rejected",
    "REJECTED": "rejected",
}
INTERMEDIATE = frozenset({"enroute", "accepted"})
_ID = re.compile(r"\bid:(\S*)", re.IGNORECASE)
_STAT = re.compile(r"\bstat:(\S+)", re.IGNORECASE)
_ERR = re.compile(r"\berr:(\S+)", re.IGNORECASE)
_HEX = frozenset(string.hexdigits.lower())


@dataclass(frozen=True)
class Receipt:
    message_id: str  # canonical (see canonical_id)
    state: str  # one of MESSAGE_STATES' values
    error: str | None

    @property
    def final(self) -> bool:
        return self.state not in INTERMEDIATE


def canonical_id(raw: str | bytes | None) -> str:
    """Trimmed, lower-case, without NULs, and without leading zeros for hex-looking ids."""
    if raw is None:
        return ""
    text = raw.decode("latin-1") if isinstance(raw, bytes) else raw
    text = text.strip().strip("\x00").strip().lower()
    if text and set(text) <= _HEX:
        text = text.lstrip("0") or "0"
    return text


def id_candidates(message_id: str) -> list[str]:
    """Spellings under which a receipt's id may have been stored: as is, hex<->decimal."""
    candidates = [message_id]
    if message_id.isdecimal():  # not isdigit: Latin-1 "²" is a digit that int() refuses
        candidates.append(format(int(message_id), "x"))
    if message_id and set(message_id) <= _HEX:
        candidates.append(str(int(message_id, 16)))
    return list(dict.fromkeys(candidates))


def parse_receipt(
    short_message: bytes, receipted_message_id: bytes | str | None, message_state: int | None
) -> Receipt | None:
    """The receipt in a deliver_sm (TLVs win over the text), or None if it carries none."""
    text = short_message.decode("latin-1", errors="replace")
    id_match = _ID.search(text)
    stat_match = _STAT.search(text)
    err_match = _ERR.search(text)
    raw_id = receipted_message_id or (id_match.group(1) if id_match else None)
    if message_state in MESSAGE_STATES:
        state = MESSAGE_STATES[message_state]  # type: ignore[index]
    elif stat_match:
        state = TEXT_STATES.get(stat_match.group(1).upper(), "unknown")
    else:
        return None
    message_id = canonical_id(raw_id)
    if not message_id:
        return None
    error = err_match.group(1) if err_match and err_match.group(1).strip("0") else None
    return Receipt(message_id, state, error)
