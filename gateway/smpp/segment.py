"""MT segmentation: GSM-7 when the text allows, UCS-2 otherwise, concatenated with an 8-bit UDH.

Limits: 160 septets single / 153 per part (GSM-7), 70 / 67 UTF-16 code units
(UCS-2). A GSM escape pair or a UTF-16 surrogate pair is never split.
"""

from __future__ import annotations

import itertools
import random
import threading
from dataclasses import dataclass

from gateway.smpp.codec import DC_DEFAULT, DC_UCS2, gsm_septets

ESM_UDHI = 0x40
GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
MAX_PARTS = 255


@dataclass(frozen=True)
class Segment:
    """One submit_sm body: UDH (if any) + user data, with its data_coding and esm_class."""

    short_message: bytes
    data_coding: int
    esm_class: int
    index: int  # 1-based
    total: int


class RefCounter:
    """Concatenation references 0-255, handed out in turn (thread-safe), random start."""

    def __init__(self, start: int | None = None) -> None:
        self._counter = itertools.count(random.randrange(256) if start is None else start)
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            return next(self._counter) % 256


def _chunks(units: list[bytes], limit: int) -> list[bytes]:
    """Pack indivisible units (a character's bytes) into chunks of at most `limit` octets."""
    chunks: list[bytes] = []
    current = bytearray()
    for unit in units:
        if len(current) + len(unit) > limit:
            chunks.append(bytes(current))
            current = bytearray()
        current += unit
    chunks.append(bytes(current))
    return chunks


def _ucs2_units(text: str) -> list[bytes]:
    """UTF-16BE bytes per character: 2 octets, or 4 for a surrogate pair (kept together)."""
    return [ch.encode("utf-16-be") for ch in text]


def split_text(text: str, ref: int) -> list[Segment]:
    """The submit_sm bodies for `text`; `ref` (0-255) is used only when it needs several parts."""
    septets = gsm_septets(text)
    if septets is not None:
        units = [bytes(char) for char in septets]
        coding, single, part = DC_DEFAULT, GSM_SINGLE, GSM_PART
    else:
        units = _ucs2_units(text)
        coding, single, part = DC_UCS2, UCS2_SINGLE * 2, UCS2_PART * 2
    if sum(len(u) for u in units) <= single:
        return [Segment(b"".join(units), coding, 0, 1, 1)]
    chunks = _chunks(units, part)
    if len(chunks) > MAX_PARTS:
        raise ValueError(f"text needs {len(chunks)} parts; at most {MAX_PARTS}")
    total = len(chunks)
    return [
        Segment(bytes([5, 0, 3, ref & 0xFF, total, i]) + chunk, coding, ESM_UDHI, i, total)
        for i, chunk in enumerate(chunks, start=1)
    ]
