"""MT segmentation: GSM-7 when the text allows, UCS-2 otherwise, concatenated with an 8-bit UDH.

Limits: 160 septets single / 153 per part (GSM-7), 70 / 67 UTF-16 code units
(UCS-2). A GSM escape pair or a UTF-16 surrogate pair is never split.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

from gateway.smpp.codec import DC_DEFAULT, DC_UCS2, ESC, gsm_bytes

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


def _cut(data: bytes, limit: int, back: Callable[[bytes, int], int]) -> list[bytes]:
    """`data` in chunks of at most `limit` octets; `back` says how many octets a chunk ending
    there must give to the next one, so that a pair (a GSM escape and its character, a UTF-16
    surrogate pair) is never split."""
    chunks: list[bytes] = []
    start = 0
    while start < len(data):
        end = min(start + limit, len(data))
        if end < len(data):
            end -= back(data, end)
        chunks.append(data[start:end])
        start = end
    return chunks


def _escape_back(data: bytes, end: int) -> int:
    return 1 if data[end - 1] == ESC else 0  # an escape is always the first of its pair


def _surrogate_back(data: bytes, end: int) -> int:
    return 2 if 0xD8 <= data[end - 2] <= 0xDB else 0  # the last unit is a high surrogate


def split_text(text: str, ref: int) -> list[Segment]:
    """The submit_sm bodies for `text`; `ref` (0-255) is used only when it needs several parts."""
    data = gsm_bytes(text)
    if data is not None:
        coding, single, part, back = DC_DEFAULT, GSM_SINGLE, GSM_PART, _escape_back
    else:
        data = text.encode("utf-16-be")
        coding, single, part, back = DC_UCS2, UCS2_SINGLE * 2, UCS2_PART * 2, _surrogate_back
    if len(data) <= single:
        return [Segment(data, coding, 0, 1, 1)]
    chunks = _cut(data, part, back)
    if len(chunks) > MAX_PARTS:
        raise ValueError(f"text needs {len(chunks)} parts; at most {MAX_PARTS}")
    total = len(chunks)
    return [
        Segment(bytes([5, 0, 3, ref & 0xFF, total, i]) + chunk, coding, ESM_UDHI, i, total)
        for i, chunk in enumerate(chunks, start=1)
    ]
