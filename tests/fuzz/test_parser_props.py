"""The SMS parser under everything a handset can send (pure; no database).

tests/handlers/test_parser.py lists the spellings citizens use and proves
that no text makes parse() raise; these generate the spellings instead: a
command is recognised however it is cased, spaced or padded with invisible
characters; numbers of any Unicode kind never break it; a number too long
to be a tracking number is never cut down to one; and a complaint keeps the
citizen's own words, nothing added.
"""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from handlers.parser import KEYWORDS, Kind, _clean, parse

# Separators between a keyword and its number that citizens really type.
SEPARATORS = st.sampled_from(
    ["", " ", "  ", "#", " #", "# ", ": ", ":", ".", "-", ", ", "\t", "\n"]
)
DIGITS = st.text("0123456789", min_size=1, max_size=12)
# Every kind of Unicode number: ASCII, Arabic-Indic, full-width, superscripts, circled, Roman;
# first the ones str.isdigit() accepts and int() refuses.
NUMERALS = st.one_of(st.sampled_from("²³¹①⑤⑽"), st.characters(categories=("Nd", "No", "Nl")))
INVISIBLE = st.sampled_from(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\x00"])
SPACES = st.text(st.sampled_from(" \t\r\n\u00a0\u2003\u3000"), min_size=1, max_size=3)
# What a command keyword turns into with its number and nothing after it.
BARE = {Kind.HELP: Kind.DETAILS}


@st.composite
def cased(draw: st.DrawFn, word: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    return "".join(ch.lower() if flip else ch for ch, flip in zip(word, flips, strict=True))


@st.composite
def command(draw: st.DrawFn) -> tuple[str, str, str]:
    """(keyword, typed text, digits) for `<keyword><separator><number>` in any case."""
    keyword = draw(st.sampled_from(sorted(KEYWORDS)))
    digits = draw(DIGITS)
    return keyword, draw(cased(keyword)) + draw(SEPARATORS) + digits, digits


def _sprinkle(draw: st.DrawFn, text: str, noise: st.SearchStrategy[str]) -> str:
    """`text` with characters from `noise` inserted at drawn positions."""
    out = list(text)
    for _ in range(draw(st.integers(0, 4))):
        out.insert(draw(st.integers(0, len(out))), draw(noise))
    return "".join(out)


def _check_number(keyword: str, text: str, digits: str) -> None:
    parsed = parse(text)
    kind = KEYWORDS[keyword]
    assert parsed.kind is BARE.get(kind, kind), text
    if kind is Kind.LIST:
        assert parsed.page == max(1, int(digits))
    else:
        assert parsed.tracking == int(digits)


@given(command())
def test_a_command_is_read_in_any_case_and_spacing(cmd: tuple[str, str, str]) -> None:
    _check_number(*cmd)


@given(command(), st.data())
def test_invisible_characters_and_odd_spaces_change_nothing(
    cmd: tuple[str, str, str], data: st.DataObject
) -> None:
    """Handsets and keyboards add zero-width characters, BOMs and non-breaking spaces."""
    keyword, text, digits = cmd
    noisy = _sprinkle(data.draw, text, INVISIBLE)
    noisy = data.draw(SPACES) + noisy.replace(" ", data.draw(SPACES)) + data.draw(SPACES)
    _check_number(keyword, noisy, digits)
    assert parse(noisy) == parse(text)


@given(st.sampled_from(sorted(KEYWORDS)), SEPARATORS, st.text("0123456789", min_size=13))
def test_a_number_longer_than_any_tracking_number_is_never_cut_to_one(
    keyword: str, separator: str, digits: str
) -> None:
    """CEK 1234567890123 must not show the status of #123456789012 (somebody else's)."""
    parsed = parse(keyword + separator + digits)
    assert parsed.kind is Kind.COMPLAINT and digits in parsed.text  # No Wrong Door


@given(
    st.one_of(
        st.sampled_from(["NILAI", "nilai", "NIALI", "DAFTAR"]), st.sampled_from(sorted(KEYWORDS))
    ),
    DIGITS,
    st.text(NUMERALS, min_size=1, max_size=3),
    st.one_of(st.just(""), st.text(max_size=30), st.text(max_size=30).map(" ".__add__)),
)
@example("NILAI", "1234567", "²", "")
@example("NILAI", "1234567", "５", " mantap")
@example("DAFTAR", "١٢", "", "")
def test_any_kind_of_numeral_after_a_command_is_answered(
    keyword: str, digits: str, numerals: str, rest: str
) -> None:
    """A rating or page typed as '²', '５' or '٣' is a valid value or a rating refused, no crash."""
    parsed = parse(f"{keyword} {digits} {numerals}{rest}")
    assert parsed.kind in Kind
    if parsed.kind is Kind.RATE:
        words = _clean(numerals + rest).split(" ")
        assert parsed.rating is None or 1 <= parsed.rating <= 5
        if words[0] in {"1", "2", "3", "4", "5"}:
            assert parsed.rating == int(words[0])
        if not words[0].isdecimal():
            assert parsed.rating is None  # "rating_invalid": the citizen is asked for 1-5


@given(st.text(max_size=300))
@example("LAPOR#KAB SIJUNJUNG#jalan rusak")
@example("ANONIM RAHASIA BBM: antre solar")
def test_a_complaint_keeps_the_citizens_own_words(text: str) -> None:
    """The complaint body is a piece of what was sent (prefix words off), never anything else."""
    parsed = parse(text)
    cleaned = _clean(text)
    if parsed.kind is Kind.COMPLAINT:
        assert parsed.text and parsed.text in cleaned
        assert parsed.region_hint is None or parsed.region_hint in cleaned
    if parsed.kind is Kind.UNREADABLE:
        assert sum(ch.isalnum() for ch in cleaned) < 2


@given(st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=200))
def test_text_not_starting_with_a_letter_is_never_a_command(text: str) -> None:
    """No Wrong Door: '123 jalan rusak', '(CEK) ...' or an emoji first is a complaint."""
    cleaned = _clean(text)
    if not cleaned or re.match(r"[A-Za-z]", cleaned) or cleaned == "?":
        return
    assert parse(text).kind in (Kind.COMPLAINT, Kind.EMPTY, Kind.UNREADABLE)
