"""SMPP input from a peer we do not control: PDU framing, TLVs, UDH, receipts, reassembly.

What must hold for any bytes: a PDU is read or refused with the module's own
error (and the stream stays in step, so one odd PDU never ends the link); a
deliver_sm with odd optional parameters is still read, never lost; every
concatenated MO, split anywhere and delivered in any order, is stored once
with the text the citizen typed.
"""

from __future__ import annotations

import itertools
import struct
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from smpplib.client import Client
from smpplib.exceptions import ConnectionError as SmppConnectionError

from fuzz.drive import SmscBytes
from gateway.smpp.codec import DC_DEFAULT, DC_UCS2, GSM_BASIC, GSM_EXTENSION, gsm_encode
from gateway.smpp.config import LinkConfig
from gateway.smpp.mo import BinaryMo, Concat, MoMessage, classify, split_udh
from gateway.smpp.reassembly import GAP, _decode_parts, store_part
from gateway.smpp.receipts import Receipt, id_candidates
from gateway.smpp.segment import split_text
from gateway.smpp.wire import DELIVER_SM, UnreadablePdu, read_pdu
from models.base import utcnow
from models.mo_parts import SmppMoPart

ENQUIRE_LINK = 0x00000015
GSM_TEXT = st.text(
    st.sampled_from(sorted(set(GSM_BASIC.replace("\x1b", "")) | set(GSM_EXTENSION.values()))),
    min_size=1,
    max_size=400,
)
ANY_TEXT = st.text(min_size=1, max_size=300)
# Every tag smpplib knows (deliver_sm's and others'), and unknown ones.
TLV_TAGS = st.one_of(
    st.sampled_from(
        [5, 6, 13, 14, 25, 29, 30, 516, 517, 522, 523, 524, 526, 527, 1059, 1063, 1281]
    ),
    st.integers(0, 0xFFFF),
)
TLVS = st.lists(st.tuples(TLV_TAGS, st.binary(max_size=12)), max_size=5).map(
    lambda items: b"".join(struct.pack(">HH", tag, len(value)) + value for tag, value in items)
)
# Receipt ids as SMSCs send them, plus Latin-1 characters that look like digits (², ³, ¹).
RECEIPT_ID = st.lists(
    st.sampled_from(list(b"0123456789abcdefABCDEF-: \x00\xb2\xb3\xb9")), max_size=12
)


@contextmanager
def peer(data: bytes) -> Iterator[Client]:
    """A python-smpplib client whose SMSC sends exactly `data`."""
    client = Client("127.0.0.1", 2775, allow_unknown_opt_params=True)
    client._socket = SmscBytes(data)  # type: ignore[assignment]
    try:
        yield client
    finally:
        client._socket = None


def frame(command_id: int, sequence: int, body: bytes, status: int = 0) -> bytes:
    return struct.pack(">LLLL", 16 + len(body), command_id, status, sequence) + body


def deliver_sm(
    sequence: int, sender: bytes, esm_class: int, data_coding: int, message: bytes, tlvs: bytes
) -> bytes:
    """A deliver_sm as SMPP 3.4 lays it out, TLVs appended verbatim."""
    body = (
        b"\x00\x01\x01" + sender + b"\x00\x00\x00" + b"1708\x00"
        + bytes([esm_class, 0, 0]) + b"\x00\x00"
        + bytes([0, 0, data_coding, 0, len(message)]) + message + tlvs
    )  # fmt: skip
    return frame(DELIVER_SM, sequence, body)


def _pdu(**fields: object) -> SimpleNamespace:
    """A deliver_sm as python-smpplib hands it over (absent TLVs are None)."""
    base = dict.fromkeys(
        (
            "message_payload",
            "receipted_message_id",
            "message_state",
            "sar_msg_ref_num",
            "sar_total_segments",
            "sar_segment_seqnum",
        )
    )
    base |= {"esm_class": 0, "data_coding": 0, "short_message": b""}
    base |= {"source_addr": b"6281234567890", "destination_addr": b"1708"}
    return SimpleNamespace(**{**base, **fields})


@given(st.binary(max_size=400))
def test_any_byte_stream_gives_pdus_or_clean_errors(data: bytes) -> None:
    """Only UnreadablePdu (answered, link goes on) or smpplib's ConnectionError (reconnect)."""
    with peer(data) as client:
        for _ in range(len(data) // 16 + 1):  # each PDU takes 16 octets at least
            try:
                pdu = read_pdu(client)
            except UnreadablePdu:
                continue
            except SmppConnectionError:
                return
            assert isinstance(pdu.command, str) and isinstance(pdu.sequence, int)
    raise AssertionError("more PDUs than the stream can hold")


@given(st.integers(0, 0xFFFFFFFF), st.integers(0, 0x7FFFFFFF), st.binary(max_size=200))
@example(DELIVER_SM, 7, b"\x00")
@example(0x80000004, 8, b"\xff" * 3)  # submit_sm_resp with a message_id lacking its NUL
def test_an_odd_pdu_keeps_the_stream_in_step(command_id: int, sequence: int, body: bytes) -> None:
    """Whatever one frame holds, the next PDU is read from the right place."""
    with peer(frame(command_id, sequence, body) + frame(ENQUIRE_LINK, 99, b"")) as client:
        try:
            first = read_pdu(client)
        except UnreadablePdu as exc:
            assert (exc.command_id, exc.sequence) == (command_id, sequence)  # enough to answer it
        else:
            assert first.sequence == sequence
        second = read_pdu(client)
        assert (second.command, second.sequence) == ("enquire_link", 99)


@given(
    st.text("0123456789", min_size=1, max_size=15).map(str.encode),
    st.integers(0, 255).filter(lambda esm: esm & 0x3C == 0),  # not a receipt
    st.integers(0, 255),
    st.binary(max_size=254),
    TLVS,
)
@example(b"628123", 0, 0, b"halo", struct.pack(">HHB", 0x0501, 1, 1))  # ussd_service_op
# sar_total_segments with 2 octets instead of 1
@example(b"628123", 0, 0, b"halo", struct.pack(">HHH", 0x020E, 2, 2))
def test_a_mo_with_any_optional_parameters_is_read_not_lost(
    sender: bytes, esm_class: int, data_coding: int, message: bytes, tlvs: bytes
) -> None:
    raw = deliver_sm(41, sender, esm_class, data_coding, message, tlvs)
    with peer(raw) as client:
        pdu = read_pdu(client)
    assert (pdu.command, pdu.sequence) == ("deliver_sm", 41)
    content = classify(pdu)
    assert isinstance(content, MoMessage | BinaryMo)
    if isinstance(content, MoMessage):
        assert content.sender == sender.decode()
        assert "\x00" not in content.text()
        assert len(content.digest) == 40
        if content.concat is not None:
            assert 1 <= content.concat.seq <= content.concat.total and content.concat.total > 1


@given(st.binary(max_size=300))
def test_split_udh_never_reads_past_the_header(data: bytes) -> None:
    concat, body = split_udh(data)
    assert body == data[1 + data[0] :] if data else body == b""
    if concat is not None:
        assert 0 <= concat.ref <= 0xFFFF and 0 <= concat.total <= 255 and 0 <= concat.seq <= 255


@given(
    st.lists(
        st.tuples(st.integers(0, 255).filter(lambda i: i not in (0, 8)), st.binary(max_size=6))
    ),
    st.booleans(),
    st.integers(0, 0xFFFF),
    st.integers(2, 255),
    st.data(),
    st.binary(max_size=100),
)
def test_concatenation_is_found_among_other_information_elements(
    others: list[tuple[int, bytes]],
    wide: bool,
    ref: int,
    total: int,
    data: st.DataObject,
    text: bytes,
) -> None:
    """Handsets put ports, formatting or SMSC control IEs beside the concatenation IE."""
    seq = data.draw(st.integers(1, total))
    before = data.draw(st.integers(0, len(others)))
    concat = (
        bytes([8, 4]) + ref.to_bytes(2, "big") + bytes([total, seq])
        if wide
        else bytes([0, 3, ref & 0xFF, total, seq])
    )
    ies = [bytes([iei, len(value)]) + value for iei, value in others]
    udh = b"".join(ies[:before]) + concat + b"".join(ies[before:])
    if len(udh) > 255:
        return
    mo = classify(_pdu(esm_class=0x40, short_message=bytes([len(udh)]) + udh + text))
    assert isinstance(mo, MoMessage)
    assert mo.concat == Concat(ref if wide else ref & 0xFF, total, seq) and mo.payload == text


@given(
    st.integers(0, 255).map(lambda t: (t & ~0x3C) | 0x04),  # an SMSC delivery receipt
    RECEIPT_ID.map(bytes),
    st.one_of(st.none(), st.integers(0, 255)),
    st.binary(max_size=80),
)
@example(0x04, b"\xb2", 2, b"")
def test_a_receipt_with_any_id_is_matched_or_dropped_cleanly(
    esm_class: int, message_id: bytes, state: int | None, text: bytes
) -> None:
    """A receipt is looked up under each spelling of its id; a strange id must not fail the batch."""
    receipt = classify(
        _pdu(
            esm_class=esm_class,
            short_message=b"id:" + message_id + b" stat:DELIVRD " + text,
            receipted_message_id=message_id or None,
            message_state=state,
        )
    )
    assert receipt is None or isinstance(receipt, Receipt)
    if receipt is not None:
        candidates = id_candidates(receipt.message_id)
        assert candidates[0] == receipt.message_id and len(set(candidates)) == len(candidates)


def _cuts(draw: st.DrawFn, size: int, step: int) -> list[int]:
    points = draw(st.lists(st.integers(1, max(1, size // step)), max_size=8, unique=True))
    return sorted({p * step for p in points if p * step < size})


@st.composite
def split_mo(draw: st.DrawFn) -> tuple[str, int, list[bytes]]:
    """A text as a handset may cut it: anywhere (even inside an escape pair) or at UCS-2 units."""
    if draw(st.booleans()):
        text = draw(GSM_TEXT)
        coding, data, step = DC_DEFAULT, gsm_encode(text), 1
    else:
        text = draw(ANY_TEXT)
        coding, data, step = DC_UCS2, text.encode("utf-16-be"), 2  # surrogate pairs may be cut
    bounds = [0, *_cuts(draw, len(data), step), len(data)]
    pieces = [data[a:b] for a, b in itertools.pairwise(bounds)]
    return text, coding, pieces


def _parts(coding: int, pieces: list[bytes], order: list[int]) -> list[SmppMoPart]:
    return [SmppMoPart(seq=i + 1, data_coding=coding, payload=pieces[i]) for i in order]


@given(split_mo(), st.data())
def test_parts_in_any_order_give_back_the_text(
    mo: tuple[str, int, list[bytes]], data: st.DataObject
) -> None:
    text, coding, pieces = mo
    order = data.draw(st.permutations(range(len(pieces))))
    repeats = data.draw(st.lists(st.sampled_from(order), max_size=3))  # re-delivered parts
    decoded = _decode_parts(_parts(coding, pieces, [*order, *repeats]), len(pieces))
    assert decoded == text.replace("\x00", "")  # NUL padding is dropped, as for single MOs


@given(split_mo(), st.data())
def test_missing_parts_are_marked_not_fatal(
    mo: tuple[str, int, list[bytes]], data: st.DataObject
) -> None:
    text, coding, pieces = mo
    total = len(pieces) + 1  # at least one part never arrives
    present = data.draw(st.lists(st.sampled_from(range(len(pieces))), unique=True))
    decoded = _decode_parts(_parts(coding, pieces, present), total)
    assert decoded.count(GAP) >= 1
    if len(present) == len(pieces):
        assert decoded == text.replace("\x00", "") + GAP


@given(st.text(max_size=500), st.integers(0, 255), st.data())
def test_what_we_send_reads_back_as_one_message_in_any_order(
    text: str, ref: int, data: st.DataObject
) -> None:
    """Our own MT segments, looped back as MO (another LAPOR! gateway, a test phone)."""
    segments = split_text(text, ref)
    mos = [
        classify(
            _pdu(esm_class=s.esm_class, data_coding=s.data_coding, short_message=s.short_message)
        )
        for s in segments
    ]
    assert all(isinstance(mo, MoMessage) for mo in mos)
    if len(segments) == 1:
        assert mos[0].concat is None and mos[0].text() == text.replace("\x00", "")  # type: ignore[union-attr]
        return
    assert [mo.concat for mo in mos] == [Concat(ref, len(segments), i + 1) for i in range(len(mos))]  # type: ignore[union-attr]
    order = data.draw(st.permutations(mos))
    parts = [
        SmppMoPart(seq=mo.concat.seq, data_coding=mo.data_coding, payload=mo.payload)
        for mo in order
    ]  # type: ignore[union-attr]
    assert _decode_parts(parts, len(segments)) == text.replace("\x00", "")


def test_parts_stored_in_any_order_make_one_inbound_message(db: dict[str, str]) -> None:
    """The database path: one inbound row when the last part arrives, re-deliveries ignored."""
    from sqlalchemy import select

    from models.db import session_scope
    from models.inbound import InboundMessage

    link = LinkConfig(name="fuzz", host="127.0.0.1", port=2775, system_id="s", password="p")
    now = utcnow()

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(split_mo(), st.integers(0, 0xFFFF), st.data())
    def check(mo: tuple[str, int, list[bytes]], ref: int, data: st.DataObject) -> None:
        text, coding, pieces = mo
        if len(pieces) < 2:
            pieces = [*pieces, b""]  # an empty last part is legal and must not confuse assembly
        sender = f"+62812{uuid.uuid4().int % 10**8:08d}"
        total = len(pieces)
        order = data.draw(st.permutations(range(total)))
        again = data.draw(st.lists(st.sampled_from(order), min_size=1, max_size=2))
        seen: set[int] = set()
        created: list[list[int]] = []
        for i in [*order, *again]:
            part = MoMessage(sender, "1708", coding, pieces[i], Concat(ref, total, i + 1))
            with session_scope() as session:
                ids, duplicate = store_part(session, link, part, now)
            assert duplicate == (i in seen)
            seen.add(i)
            created.append(ids)
        # Nothing until the last missing part, then exactly one message, then nothing again.
        assert [len(ids) for ids in created] == [0] * (total - 1) + [1] + [0] * len(again)
        inbound_id = created[total - 1][0]
        with session_scope() as session:
            row = session.execute(
                select(InboundMessage).where(InboundMessage.id == inbound_id)
            ).scalar_one()
            assert (row.text, row.parts, row.incomplete) == (text.replace("\x00", ""), total, False)

    check()
