"""Text normalisation shared by region detection and sector classification.

Both sides must see the same tokens, otherwise a keyword written in the rules
("jalan rusak") would not meet the text it was written for ("Jln. RUSAK!!").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_HTML = re.compile(r"<[^>]*>|&[a-z]+;|\[\*+\]")
_SPLIT = re.compile(r"[^0-9a-z]+")
# "jl.sudirman" and "kab.sijunjung" are written without a space after the dot.
_GLUED_ABBREV = re.compile(r"\b(jl|jln|kab|kec|kel|ds|prov|kota)\.(?=[a-z])")


def normalise(text: str) -> str:
    """Lower-case ASCII text with markup removed and punctuation as single spaces."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = _HTML.sub(" ", text.lower())
    text = _GLUED_ABBREV.sub(r"\1 ", text)
    return " ".join(_SPLIT.split(text)).strip()


def tokens(text: str) -> list[str]:
    """Normalised word tokens of `text`."""
    norm = normalise(text)
    return norm.split(" ") if norm else []


def ngrams(toks: list[str], max_len: int) -> list[tuple[int, int, str]]:
    """Every (start, end, phrase) n-gram up to `max_len` tokens, longest first per start."""
    out: list[tuple[int, int, str]] = []
    for start in range(len(toks)):
        for end in range(min(len(toks), start + max_len), start, -1):
            out.append((start, end, " ".join(toks[start:end])))
    return out


def longest_from(phrases: Iterable[str]) -> dict[str, int]:
    """For each word, the most words a phrase beginning with it has: a matcher trying
    phrases at a word tries no longer ones (most words begin none, and are tried at
    once), instead of joining and looking up every length up to its maximum."""
    longest: dict[str, int] = {}
    for phrase in phrases:
        words = phrase.split(" ")
        longest[words[0]] = max(longest.get(words[0], 0), len(words))
    return longest
