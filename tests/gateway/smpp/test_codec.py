"""Codec, segmentation, receipts and deliver_sm classification (pure, no I/O)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from smpplib import gsm as smpplib_gsm

from gateway.smpp.codec import (
    GSM_BASIC,
    GSM_EXTENSION,
    decode_mo_text,
    decode_text,
    gsm_decode,
    gsm_encode,
    text_kind,
)
from gateway.smpp.mo import BinaryMo, Concat, MoMessage, classify
from gateway.smpp.receipts import canonical_id, id_candidates, parse_receipt
from gateway.smpp.segment import split_text

GSM_CHARS = st.sampled_from(
    sorted(set(GSM_BASIC.replace("\x1b", "")) | set(GSM_EXTENSION.values()))
)


def test_gsm_table_fixes_smpplib() -> None:
    assert gsm_encode("§") == b"\x5f"
    assert smpplib_gsm.gsm_encode("`") == b"\x5f"  # smpplib sends a backtick as '§'


@given(st.text(GSM_CHARS, max_size=400))
def test_gsm_round_trip(text: str) -> None:
    assert gsm_decode(gsm_encode(text)) == text


@given(st.text(max_size=600))
def test_segments_rebuild_the_text_within_limits(text: str) -> None:
    segments = split_text(text, ref=7)
    payloads = [s.short_message[6:] if s.total > 1 else s.short_message for s in segments]
    rebuilt = "".join(
        decode_text(s.data_coding, p) or "" for s, p in zip(segments, payloads, strict=True)
    )
    assert rebuilt == text
    for segment in segments:
        limit = 160 if segment.data_coding == 0 else 140
        if segment.total > 1:
            limit = 153 if segment.data_coding == 0 else 134
            assert segment.short_message[:6] == bytes([5, 0, 3, 7, segment.total, segment.index])
        assert len(payloads[segment.index - 1]) <= limit


def test_segment_boundaries() -> None:
    assert len(split_text("a" * 160, 1)) == 1
    assert [len(s.short_message) for s in split_text("a" * 161, 1)] == [159, 14]
    assert [s.data_coding for s in split_text("é" * 160, 1)] == [0]  # é is GSM
    assert [s.data_coding for s in split_text("Jalan 😀", 1)] == [8]
    assert len(split_text("ж" * 70, 1)) == 1 and len(split_text("ж" * 71, 1)) == 2
    # An escape pair never straddles a boundary: 152 'a' then '€' (2 septets).
    first, second = split_text("a" * 152 + "€" + "b" * 10, 1)
    assert first.short_message[6:] == b"a" * 152
    assert second.short_message[6:] == b"\x1b\x65" + b"b" * 10
    # A surrogate pair never straddles one either.
    parts = split_text("x" * 66 + "😀" + "y" * 10, 1)
    assert len(parts[0].short_message[6:]) == 132


def test_receipt_tlvs_win_and_text_form() -> None:
    assert parse_receipt(b"", b"00AB12\x00", 2) == parse_receipt(
        b"id:ab12 stat:DELIVRD err:000", None, None
    )
    receipt = parse_receipt(b"id:42 sub:001 dlvrd:000 stat:UNDELIV err:0B1 text:x", None, None)
    assert receipt is not None and (receipt.message_id, receipt.state, receipt.error) == (
        "42",
        "undeliverable",
        "0B1",
    )
    assert parse_receipt(b"id:42 stat:ENROUTE", None, None).final is False  # type: ignore[union-attr]
    assert parse_receipt(b"no receipt here", None, None) is None


def test_message_ids_decimal_or_hex() -> None:
    assert canonical_id(b"") == ""
    assert canonical_id(" 0001F\x00") == "1f"
    assert "31" in id_candidates("1f") and "1f" in id_candidates("31")
    assert id_candidates("msg-7") == ["msg-7"]


def _pdu(**fields: object) -> SimpleNamespace:
    base = dict(
        esm_class=0,
        data_coding=0,
        short_message=b"",
        message_payload=None,
        source_addr=b"628123",
        destination_addr=b"1708",
        receipted_message_id=None,
        message_state=None,
        sar_msg_ref_num=None,
        sar_total_segments=None,
        sar_segment_seqnum=None,
    )
    return SimpleNamespace(**{**base, **fields})


def test_classify_deliver_sm() -> None:
    udh16 = bytes([6, 8, 4, 0x12, 0x34, 2, 1])
    mo = classify(_pdu(esm_class=0x40, short_message=udh16 + b"abc"))
    assert isinstance(mo, MoMessage) and mo.concat == Concat(0x1234, 2, 1) and mo.payload == b"abc"
    assert classify(_pdu(data_coding=3, short_message="Café".encode("latin-1"))).text() == "Café"  # type: ignore[union-attr]
    assert classify(_pdu(message_payload=b"panjang " * 40)).text() == "panjang " * 40  # type: ignore[union-attr]
    for binary in (2, 4, 0xF4):  # SMPP's two 8-bit codings, GSM's 8-bit class 0
        assert isinstance(classify(_pdu(data_coding=binary, short_message=b"\x00\xff")), BinaryMo)
    assert [text_kind(dc) for dc in (0x11, 0x18, 0x09)] == ["gsm", "ucs2", "binary"]
    receipt = classify(_pdu(esm_class=4, receipted_message_id=b"99\x00", message_state=5))
    assert receipt is not None and receipt.state == "undeliverable"  # type: ignore[union-attr]
    assert classify(_pdu(short_message="Déjà".encode("latin-1"))).text() == "Déjà"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("data_coding", "data"),
    [(8, "Air mati".encode("utf-16-be") + b"\x00\x00"), (3, b"Air\x00 mati"), (0, b"Air mati\x00")],
)
def test_nul_padding_never_reaches_the_database(data_coding: int, data: bytes) -> None:
    """PostgreSQL refuses NUL in text: a padded MO must not become a permanent error."""
    text = decode_mo_text(data_coding, data)
    assert "\x00" not in text
    assert text.replace("@", "") == "Air mati"  # GSM septet 0x00 is "@", a real character
