"""GSM 03.38 budgets: how many segments a text costs, and keeping values inside GSM-7.

One character outside the GSM-7 alphabet turns a whole SMS into UCS-2 (70
characters a segment instead of 160), so every value put into a template is
folded into GSM-7 first.
"""

from __future__ import annotations

import unicodedata

from smpplib.gsm import GSM_CHARACTER_TABLE

# smpplib's table writes "`" where GSM has "§" (0x5F) and keeps the escape (0x1B) in it.
_BASIC = (set(GSM_CHARACTER_TABLE[:128]) - {"`", "\x1b"}) | {"§"}
_EXTENDED = set("^{}\\[~]|€")
_FOLD = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u00a0": " ",
        "\u2007": " ",
        "\u202f": " ",
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
        "\t": " ",
    }
)
SINGLE_SEPTETS, PART_SEPTETS = 160, 153


def septets(text: str) -> int | None:
    """Septets the text needs in GSM-7, or None when it cannot be GSM-7 at all."""
    total = 0
    for char in text:
        if char in _BASIC:
            total += 1
        elif char in _EXTENDED:
            total += 2
        else:
            return None
    return total


def segments(text: str) -> int | None:
    """SMS segments a GSM-7 text costs (160 alone, 153 each when concatenated).

    Counted the way gateway/smpp/segment.py cuts them: an escape pair (two
    septets) never straddles two parts, so 306 septets can need three.
    """
    count = septets(text)
    if count is None:
        return None
    if count <= SINGLE_SEPTETS:
        return 1
    parts, used = 1, 0
    for char in text:
        size = 2 if char in _EXTENDED else 1
        if used + size > PART_SEPTETS:
            parts, used = parts + 1, 0
        used += size
    return parts


def to_gsm7(text: str) -> str:
    """Fold a value into GSM-7: smart quotes to plain ones, accents dropped, the rest to '?'."""
    folded = text.translate(_FOLD)
    out = []
    for char in folded:
        if char in _BASIC or char in _EXTENDED:
            out.append(char)
            continue
        base = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
        out.append(base if base and septets(base) is not None else "?")
    return "".join(out)
