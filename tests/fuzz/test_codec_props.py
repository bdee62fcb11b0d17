"""GSM-7/UCS-2 codec and MT segmentation under arbitrary input (pure, no I/O).

tests/gateway/smpp/test_codec.py already proves GSM-7 round trips and that
split_text rebuilds any text within the per-part limits; these add what a
sender or a citizen would notice beyond that: no byte string from an SMSC
makes decoding fail, GSM-7 is chosen whenever the text allows (160 instead
of 70 characters), no part is sent half empty (each SMS costs money), and
the template budgets count parts the way the SMPP sender really cuts them.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from gateway.smpp.codec import (
    DC_DEFAULT,
    DC_UCS2,
    GSM_BASIC,
    GSM_EXTENSION,
    decode_mo_text,
    decode_text,
    gsm_encode,
    text_kind,
    ucs2_decode,
)
from gateway.smpp.segment import (
    ESM_UDHI,
    GSM_PART,
    GSM_SINGLE,
    MAX_PARTS,
    UCS2_PART,
    UCS2_SINGLE,
    split_text,
)
from templates_sms.gsm import segments as budget_segments
from templates_sms.gsm import septets, to_gsm7
from templates_sms.render import DEFAULT_SEGMENTS, placeholders, render, templates, worst_cases

GSM_CHARS = sorted(set(GSM_BASIC.replace("\x1b", "")) | set(GSM_EXTENSION.values()))


def _is_gsm(text: str) -> bool:
    return set(text) <= set(GSM_CHARS)


def _septets(char: str) -> int:
    """Septets a GSM character costs: two for one of the extension table (after the escape)."""
    return 2 if char in GSM_EXTENSION.values() else 1


# Texts that mix the alphabets: plain GSM, two-septet escapes, UCS-2 only, astral (surrogate pairs).
MIXED = st.text(
    st.one_of(
        st.sampled_from(GSM_CHARS),
        st.sampled_from(list(GSM_EXTENSION.values())),
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
        st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),
    ),
    max_size=700,
)


def _payload(segment_bytes: bytes, total: int) -> bytes:
    return segment_bytes[6:] if total > 1 else segment_bytes


def _units(text: str, coding: int) -> list[int]:
    """Octets each character costs in the chosen coding (escape and surrogate pairs whole)."""
    if coding == DC_DEFAULT:
        return [_septets(ch) for ch in text]
    return [len(ch.encode("utf-16-be")) for ch in text]


@given(st.integers(0, 255), st.binary(max_size=300))
def test_any_short_message_decodes_to_text_or_binary(data_coding: int, data: bytes) -> None:
    """Whatever an SMSC sends, the MO is stored as text (or recognised as binary), never lost."""
    text = decode_text(data_coding, data)
    assert (text is None) == (text_kind(data_coding) == "binary")
    stored = decode_mo_text(data_coding, data)
    assert isinstance(stored, str) and "\x00" not in stored
    if text_kind(data_coding) == "gsm" and all(octet < 0x80 for octet in data):
        # One septet per character, two for an escape pair (a trailing escape reads as nothing).
        assert len(stored) <= len(data)


@given(st.text(max_size=300))
@example("Jalan 😀 rusak 🚧")
@example("x" * 69 + "😀")
def test_ucs2_round_trip_keeps_surrogate_pairs(text: str) -> None:
    data = text.encode("utf-16-be")
    assert ucs2_decode(data) == text
    assert decode_mo_text(DC_UCS2, data + b"\x00") == text.replace("\x00", "")  # odd byte dropped


@given(st.text(max_size=200))
def test_gsm_encode_refuses_cleanly_exactly_when_the_text_is_not_gsm(text: str) -> None:
    if not _is_gsm(text):
        with pytest.raises(ValueError, match=r"GSM 03\.38"):
            gsm_encode(text)
    else:
        assert len(gsm_encode(text)) == sum(_septets(ch) for ch in text)


@given(MIXED, st.integers(0, 255))
@example("a" * 152 + "€" + "b" * 200, 255)
@example("y" * 66 + "😀" + "z" * 100, 0)
def test_segments_use_gsm_when_possible_and_waste_no_part(text: str, ref: int) -> None:
    """One SMS when it fits 160 (GSM-7) / 70 (UCS-2); otherwise every part but the last is full.

    "Full": the next character would not have fitted, so the citizen is never
    billed for a part that a tighter packing would have avoided.
    """
    segments = split_text(text, ref)
    gsm = _is_gsm(text)
    coding = DC_DEFAULT if gsm else DC_UCS2
    assert {s.data_coding for s in segments} == {coding}
    units = _units(text, coding)
    single, part = (GSM_SINGLE, GSM_PART) if gsm else (UCS2_SINGLE * 2, UCS2_PART * 2)
    total = len(segments)
    assert (total == 1) == (sum(units) <= single)
    assert [(s.index, s.total) for s in segments] == [(i, total) for i in range(1, total + 1)]
    for s in segments:
        assert s.esm_class == (ESM_UDHI if total > 1 else 0)
        if total > 1:
            assert s.short_message[:6] == bytes([5, 0, 3, ref, total, s.index])
    lengths = [len(_payload(s.short_message, total)) for s in segments]
    assert sum(lengths) == sum(units)
    if total > 1:
        # Walk the units as they were packed: the first unit of each next part did not fit.
        pos = 0
        for length in lengths[:-1]:
            taken = 0
            while taken < length:
                taken += units[pos]
                pos += 1
            assert taken == length and length + units[pos] > part


@pytest.mark.parametrize(("char", "per_part"), [("a", GSM_PART), ("ж", UCS2_PART)])
def test_the_longest_splittable_text_and_one_more_character(char: str, per_part: int) -> None:
    """255 parts is the UDH's limit: up to it a text is sent, beyond it refused with ValueError."""
    assert len(split_text(char * (per_part * MAX_PARTS), 9)) == MAX_PARTS
    with pytest.raises(ValueError, match="at most 255"):
        split_text(char * (per_part * MAX_PARTS + 1), 9)


SHRINKING = sorted(name for name, spec in templates().items() if spec.get("shrink"))


# Plain letters and two-septet characters half and half: escape pairs meet every part boundary.
EXTENSION_HEAVY = st.text(
    st.sampled_from("ab" + "".join(GSM_EXTENSION.values())), min_size=120, max_size=320
)


@given(
    st.one_of(st.text(st.sampled_from(GSM_CHARS), max_size=320), EXTENSION_HEAVY), st.integers(1, 3)
)
@example("a" * 152 + "€", 2)  # 306 septets, but the escape pair cannot straddle two parts
def test_the_template_budget_counts_parts_as_the_sender_cuts_them(raw: str, parts: int) -> None:
    """templates_sms and the SMPP splitter must agree, or "two segments" is sent as three.

    The text is padded to exactly what `parts` segments hold: the edge where
    counting septets and cutting parts can disagree.
    """
    text = to_gsm7(raw)  # as every value reaches an SMS ("\f" is GSM-7 but folded away)
    text += "a" * max(0, (GSM_SINGLE if parts == 1 else parts * GSM_PART) - (septets(text) or 0))
    assert budget_segments(text) == len(split_text(text, 0))


@given(
    st.sampled_from(SHRINKING),
    st.one_of(
        st.text(st.sampled_from(GSM_CHARS), max_size=500),
        # cut inside a plain tail, the text lands on exactly 306 septets: escape pairs before it
        st.tuples(EXTENSION_HEAVY, st.integers(0, 320)).map(lambda t: t[0] + "a" * t[1]),
    ),
)
@example("officer_new", "x" + "€" * 37 + "a" * 300)
def test_a_shortened_value_keeps_the_sms_in_its_budget_as_sent(name: str, value: str) -> None:
    """Relayed officer and citizen texts are cut to fit; the cut must hold after splitting."""
    spec = templates()[name]
    worst = worst_cases()
    values = {field: worst[field] for field in placeholders(spec["text"])} | {spec["shrink"]: value}
    sent = split_text(render(name, **values), 0)
    assert len(sent) <= int(spec.get("segments", DEFAULT_SEGMENTS))
