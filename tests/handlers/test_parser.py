"""The parser accepts what citizens really type (pure; no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.parser import Kind, parse


@pytest.mark.parametrize(
    "text", ["CEK 1234567", "cek #1234567", "CEK1234567", "  Cek   1234567 ", "cekk 1234567"]
)
def test_status_check_spellings(text: str) -> None:
    parsed = parse(text)
    assert parsed.kind is Kind.CHECK and parsed.tracking == 1234567


@pytest.mark.parametrize(
    ("text", "rating"), [("NILAI 1234567 5", 5), ("nilai #1234567 1", 1), ("NIALI 1234567 3", 3)]
)
def test_ratings(text: str, rating: int) -> None:
    parsed = parse(text)
    assert parsed.kind is Kind.RATE and parsed.tracking == 1234567 and parsed.rating == rating


@pytest.mark.parametrize("text", ["NILAI 1234567 9", "NILAI 1234567 bagus", "NILAI 1234567 0"])
def test_out_of_range_ratings_are_marked_invalid(text: str) -> None:
    parsed = parse(text)
    assert parsed.kind is Kind.RATE and parsed.rating is None


def test_balas_carries_the_text() -> None:
    parsed = parse("BALAS 1234567 lokasinya di depan pasar")
    assert (parsed.kind, parsed.tracking, parsed.text) == (
        Kind.NOTE,
        1234567,
        "lokasinya di depan pasar",
    )


@pytest.mark.parametrize("text", ["INFO", "info", "BANTUAN", "HELP", "?", " ? "])
def test_help(text: str) -> None:
    assert parse(text).kind is Kind.HELP


@pytest.mark.parametrize(
    "text",
    [
        "Cek jalan rusak di Bandung",
        "Nilai tukar petani anjlok",
        "Info lowongan palsu di Dinas",
        "Balas budi",
    ],
)
def test_words_that_look_like_keywords_start_complaints(text: str) -> None:
    parsed = parse(text)
    assert parsed.kind is Kind.COMPLAINT and parsed.text == text


def test_hash_form_with_place() -> None:
    parsed = parse("LAPOR#KAB SIJUNJUNG#jalan rusak")
    assert (parsed.kind, parsed.region_hint, parsed.text) == (
        Kind.COMPLAINT,
        "KAB SIJUNJUNG",
        "jalan rusak",
    )


@pytest.mark.parametrize(
    ("text", "anonymous", "confidential"),
    [
        ("RAHASIA jalan rusak", False, True),
        ("LAPOR RAHASIA jalan rusak", False, True),
        ("anonim lapor: pungli", True, False),
        ("ANONIM RAHASIA#pungli", True, True),
    ],
)
def test_flags_anywhere_in_the_prefix(text: str, anonymous: bool, confidential: bool) -> None:
    parsed = parse(text)
    assert parsed.kind is Kind.COMPLAINT
    assert (parsed.anonymous, parsed.confidential) == (anonymous, confidential)


@pytest.mark.parametrize(
    ("text", "body", "place", "confidential"),
    [
        ("ADUAN jalan rusak", "jalan rusak", None, False),
        ("aduan: jalan rusak", "jalan rusak", None, False),
        ("LPR jalan rusak", "jalan rusak", None, False),
        ("lpr, jalan rusak", "jalan rusak", None, False),
        ("LPR#KOTA PADANG#jalan rusak", "jalan rusak", "KOTA PADANG", False),
        ("ADUAN RAHASIA jalan rusak", "jalan rusak", None, True),
    ],
)
def test_aduan_and_lpr_prefixes_are_taken_off(
    text: str, body: str, place: str | None, confidential: bool
) -> None:
    parsed = parse(text)
    assert (parsed.kind, parsed.text, parsed.region_hint) == (Kind.COMPLAINT, body, place)
    assert parsed.confidential is confidential and parsed.campaign is None


def test_campaign_keyword_is_stripped_and_kept() -> None:
    parsed = parse("BBM antrean solar panjang di SPBU")
    assert parsed.campaign == "BBM" and parsed.text == "antrean solar panjang di SPBU"


def test_officer_commands() -> None:
    forward = parse("TERUSKAN 1234567 pupr.13.03 bukan wewenang kami")
    assert (forward.kind, forward.agency_code, forward.text) == (
        Kind.FORWARD,
        "PUPR.13.03",
        "bukan wewenang kami",
    )
    assert parse("SELESAI 1234567 sudah diperbaiki").text == "sudah diperbaiki"
    assert parse("TERIMA 1234567").kind is Kind.ACCEPT
    assert parse("DAFTAR 2").page == 2
    assert parse("INFO 1234567").kind is Kind.DETAILS


@pytest.mark.parametrize("text", ["", "   ", "\u200b\u200b"])
def test_empty(text: str) -> None:
    assert parse(text).kind is Kind.EMPTY


@pytest.mark.parametrize("text", ["😡😡", "\x00\x01\x02", "!!!", "..."])
def test_unreadable(text: str) -> None:
    assert parse(text).kind is Kind.UNREADABLE


@given(st.text(max_size=400))
def test_any_text_parses_without_raising(text: str) -> None:
    parsed = parse(text)
    assert parsed.kind in Kind
    if parsed.kind is Kind.COMPLAINT:
        assert parsed.text.strip()
