"""Parse an SMS into a command or a complaint; pure, forgiving, never raises.

No Wrong Door: anything that does not have the exact shape of a command is
a complaint. Commands tolerate case, spacing, a `#` before the number, a
missing space (CEK1234567) and one typo in the keyword (CEKK, NIALI).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from rapidfuzz.distance import OSA

from config.settings import CONFIG_DIR


class Kind(StrEnum):
    COMPLAINT = "complaint"
    CHECK = "check"  # CEK [nomor]
    RATE = "rate"  # NILAI nomor 1-5
    NOTE = "note"  # BALAS nomor teks (citizen adds information; officer answers)
    HELP = "help"  # INFO, BANTUAN, HELP, ?
    EMPTY = "empty"
    UNREADABLE = "unreadable"
    ACCEPT = "accept"  # TERIMA nomor
    DONE = "done"  # SELESAI nomor tindak lanjut
    FORWARD = "forward"  # TERUSKAN nomor KODE alasan
    DETAILS = "details"  # INFO nomor
    LIST = "list"  # DAFTAR [halaman]


@dataclass(frozen=True)
class Parsed:
    kind: Kind
    text: str = ""  # complaint body, note, reply, follow-up or reason
    tracking: int | None = None
    rating: int | None = None  # None with kind RATE: the rating was not 1-5
    agency_code: str | None = None
    region_hint: str | None = None  # the place of a LAPOR#<tempat>#<isi> form
    anonymous: bool = False
    confidential: bool = False
    campaign: str | None = None
    page: int = 1


KEYWORDS: dict[str, Kind] = {
    "CEK": Kind.CHECK,
    "STATUS": Kind.CHECK,
    "NILAI": Kind.RATE,
    "BALAS": Kind.NOTE,
    "INFO": Kind.HELP,
    "BANTUAN": Kind.HELP,
    "HELP": Kind.HELP,
    "TERIMA": Kind.ACCEPT,
    "SELESAI": Kind.DONE,
    "TERUSKAN": Kind.FORWARD,
    "DAFTAR": Kind.LIST,
}
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\x00"), None)
_SPACES = re.compile(r"\s+")
_HEAD = re.compile(r"([A-Za-z]+)[\s#:.,-]*(.*)", re.S)
_NUMBER = re.compile(r"#?\s*(\d{1,12})\b[\s:.,-]*(.*)", re.S)
_WORD_EDGE = re.compile(r"^[^\w]+|[^\w]+$")


@dataclass(frozen=True)
class Vocabulary:
    prefixes: frozenset[str]
    confidential: frozenset[str]
    anonymous: frozenset[str]
    campaigns: frozenset[str]

    @property
    def all(self) -> frozenset[str]:
        return self.prefixes | self.confidential | self.anonymous | self.campaigns


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """Prefixes, flags and campaign keywords from config/sms/keywords.toml."""
    with (CONFIG_DIR / "sms" / "keywords.toml").open("rb") as handle:
        data = tomllib.load(handle)
    return Vocabulary(
        *(
            frozenset(w.upper() for w in data[key])
            for key in ("prefixes", "confidential", "anonymous", "campaigns")
        )
    )


def _keyword(word: str) -> Kind | None:
    upper = word.upper()
    if upper in KEYWORDS:
        return KEYWORDS[upper]
    if len(upper) < 4:
        return None
    for key, kind in KEYWORDS.items():
        if len(key) >= 3 and OSA.distance(upper, key, score_cutoff=1) <= 1:
            return kind
    return None


def _clean(text: str) -> str:
    return _SPACES.sub(" ", text.translate(_INVISIBLE)).strip()


def parse(raw: str) -> Parsed:
    """The meaning of one SMS."""
    text = _clean(raw)
    if not text:
        return Parsed(Kind.EMPTY)
    if text == "?":
        return Parsed(Kind.HELP)
    if sum(map(str.isalnum, text)) < 2:
        return Parsed(Kind.UNREADABLE, text)
    head = _HEAD.match(text)
    if head:
        kind = _keyword(head.group(1))
        if kind is not None:
            command = _command(kind, head.group(2).strip())
            if command is not None:
                return command
    return _complaint(text)


def parse_as_complaint(raw: str) -> Parsed:
    """The SMS as a complaint, whatever word it starts with (see dispatch: a citizen's
    "Terima 300 ribu potongan bansos" is no officer's TERIMA)."""
    return _complaint(_clean(raw))


def _command(kind: Kind, rest: str) -> Parsed | None:
    """The command when `rest` has its shape; None makes the whole text a complaint."""
    number = _NUMBER.fullmatch(rest)
    tracking = int(number.group(1)) if number else None
    tail = number.group(2).strip() if number else ""
    if kind is Kind.HELP:
        if not rest:
            return Parsed(Kind.HELP)
        return Parsed(Kind.DETAILS, tracking=tracking) if number and not tail else None
    if kind is Kind.LIST:
        if not rest:
            return Parsed(Kind.LIST)
        return Parsed(Kind.LIST, page=max(1, tracking)) if number and not tail else None
    if not rest:
        return Parsed(kind)  # a command without its number: the handler asks for it
    if number is None:
        return None
    if kind is Kind.CHECK:
        return Parsed(Kind.CHECK, tracking=tracking) if not tail else None
    if kind is Kind.ACCEPT:
        return Parsed(Kind.ACCEPT, tracking=tracking, text=tail)
    if kind is Kind.RATE:
        first = tail.split(" ", 1)[0] if tail else ""
        rating = int(first) if first.isdecimal() and 1 <= int(first) <= 5 else None  # not "²"
        return Parsed(Kind.RATE, tracking=tracking, rating=rating, text=tail)
    if kind is Kind.FORWARD:
        code, _, reason = tail.partition(" ")
        return Parsed(
            Kind.FORWARD, tracking=tracking, agency_code=code.upper() or None, text=reason.strip()
        )
    return Parsed(kind, tracking=tracking, text=tail)


def _complaint(text: str) -> Parsed:
    """A complaint, with its prefix words (keywords, flags, campaign) taken off."""
    vocab = vocabulary()
    region_hint = None
    parts = text.split("#")
    if len(parts) >= 2 and _all_prefix_words(parts[0], vocab):
        words = parts[0].split()
        if len(parts) >= 3:
            region_hint = parts[1].strip() or None
            body = "#".join(parts[2:])
        else:
            body = parts[1]
    else:
        words = []
        tokens = text.split(" ")
        while tokens and _WORD_EDGE.sub("", tokens[0]).upper() in vocab.all:
            words.append(tokens.pop(0))
        body = " ".join(tokens)
    flags = {_WORD_EDGE.sub("", w).upper() for w in words}
    body = body.strip(" :,.-")
    campaign = next((w for w in flags if w in vocab.campaigns), None)
    if not body:
        return Parsed(Kind.EMPTY)
    return Parsed(
        Kind.COMPLAINT,
        text=body,
        region_hint=region_hint,
        anonymous=bool(flags & vocab.anonymous),
        confidential=bool(flags & vocab.confidential),
        campaign=campaign,
    )


def _all_prefix_words(segment: str, vocab: Vocabulary) -> bool:
    words = [_WORD_EDGE.sub("", w).upper() for w in segment.split()]
    return all(w in vocab.all for w in words if w) and any(words)
