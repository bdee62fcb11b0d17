"""The PDUs a link builds itself are the octets smpplib would send, and smpplib reads them back;\nwhat a link reads from a peer is what the peer sent."""

from __future__ import annotations

import struct

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from smpplib import consts, smpp
from smpplib.client import Client
from smpplib.exceptions import ConnectionError as SmppConnectionError

from fuzz.drive import SmscBytes
from gateway.smpp.codec import gsm_encode
from gateway.smpp.mo import MoMessage, classify
from gateway.smpp.receipts import Receipt
from gateway.smpp.wire import mo_resp, read_pdu, submit_sm

OCTET = st.integers(0, 255)
ADDRESS = st.text(st.characters(min_codepoint=1, max_codepoint=255), max_size=30)  # latin-1
SEQUENCE = st.integers(1, 0x7FFFFFFF)
CLIENT = Client("127.0.0.1", 2775, allow_unknown_opt_params=True)


FLAG_NAMES = ("esm_class", "data_coding", "registered_delivery")  # submit_sm's order
FLAGS = st.fixed_dictionaries(dict.fromkeys(FLAG_NAMES, OCTET))


@given(
    SEQUENCE,
    st.tuples(OCTET, OCTET, ADDRESS),
    st.tuples(OCTET, OCTET, ADDRESS),
    FLAGS,
    st.binary(max_size=160),
)
def test_a_submit_sm_is_what_smpplib_would_send(
    sequence: int,
    source: tuple[int, int, str],
    destination: tuple[int, int, str],
    flags: dict[str, int],
    short_message: bytes,
) -> None:
    esm_class, data_coding, registered_delivery = (flags[name] for name in FLAG_NAMES)
    ours = submit_sm(
        sequence, source, destination, esm_class, data_coding, registered_delivery, short_message
    )
    theirs = smpp.make_pdu(
        "submit_sm",
        client=CLIENT,
        source_addr_ton=source[0],
        source_addr_npi=source[1],
        source_addr=source[2],
        dest_addr_ton=destination[0],
        dest_addr_npi=destination[1],
        destination_addr=destination[2],
        **flags,
        short_message=short_message,
    )
    theirs.sequence = sequence
    assert ours.generate() == theirs.generate()
    read = smpp.parse_pdu(ours.generate(), client=CLIENT)  # smpplib reads an empty field as None
    assert (read.command, read.sequence) == ("submit_sm", sequence)
    assert (read.short_message or b"") == short_message
    assert (read.source_addr or b"", read.destination_addr or b"") == (
        source[2][:20].encode("latin-1"),
        destination[2][:20].encode("latin-1"),
    )


@pytest.mark.parametrize("request_name", ["deliver_sm", "data_sm"])
@given(SEQUENCE, st.sampled_from([consts.SMPP_ESME_ROK, 0x64, 0x65]))
def test_the_answer_to_an_mo_is_what_smpplib_would_send(
    request_name: str, sequence: int, status: int
) -> None:
    theirs = smpp.make_pdu(f"{request_name}_resp", client=CLIENT, status=status)
    theirs.sequence = sequence
    ours = mo_resp(request_name, sequence, status)
    assert (ours.command, ours.generate()) == (theirs.command, theirs.generate())


def _read(raw: bytes) -> object:
    client = Client("127.0.0.1", 2775, allow_unknown_opt_params=True)
    client.state = consts.SMPP_CLIENT_STATE_BOUND_TRX
    client._socket = SmscBytes(raw)  # type: ignore[assignment]
    return read_pdu(client)


def _with_tlvs(request_name: str, tlvs: bytes, **fields: object) -> bytes:
    """A `request_name` PDU from the SMSC (sequence 7) with `tlvs` appended as sent."""
    pdu = smpp.make_pdu(request_name, client=CLIENT, source_addr="6281234567890", **fields)
    pdu.sequence = 7
    raw = pdu.generate() + tlvs
    return struct.pack(">L", len(raw)) + raw[4:]


@pytest.mark.parametrize(
    ("request_name", "fields"),
    [
        ("deliver_sm", {"short_message": b"stat:DELIVRD"}),
        ("data_sm", {}),  # no short_message: its TLVs follow data_coding
    ],
)
@pytest.mark.parametrize("sent", [b"12345", b"12345\x00"])
def test_a_receipt_id_is_read_whole_with_or_without_its_nul(
    request_name: str, fields: dict[str, bytes], sent: bytes
) -> None:
    """smpplib drops the last octet of the TLV as its NUL: without one, "12345" was "1234",
    another message's id."""
    tlvs = struct.pack(">HH", 0x001E, len(sent)) + sent + struct.pack(">HHB", 0x0427, 1, 2)
    receipt = classify(_read(_with_tlvs(request_name, tlvs, esm_class=4, **fields)))
    assert receipt == Receipt("12345", "delivered", None)


def _tlv(tag: int, value: bytes) -> bytes:
    return struct.pack(">HH", tag, len(value)) + value


MESSAGE_PAYLOAD = 0x0424
# Tags smpplib knows, data_sm's own among them (sar_*, alert_on_message_delivery, ...), and
# unknown ones; not a second message_payload, which would replace the first.
TLV_TAGS = st.one_of(
    st.sampled_from([5, 6, 13, 14, 25, 29, 30, 516, 522, 524, 526, 527, 1063, 1281, 4876]),
    st.integers(0, 0xFFFF),
).filter(lambda tag: tag != MESSAGE_PAYLOAD)
TLVS = st.lists(st.tuples(TLV_TAGS, st.binary(max_size=12)), max_size=5).map(
    lambda items: b"".join(_tlv(tag, value) for tag, value in items)
)


@given(st.binary(max_size=254), TLVS)
@example(
    gsm_encode("Jalan rusak {RT 04} € 50 rb"),
    _tlv(0x0501, b"\x01")  # ussd_service_op: no data_sm parameter to smpplib
    + _tlv(0x020E, b"\x00\x02")  # sar_total_segments in two octets
    + _tlv(0x130C, b"\x01"),  # alert_on_message_delivery with an octet, as SMPP 5.0 has it
)
def test_a_data_sm_mo_with_any_optional_parameters_is_read_not_lost(
    payload: bytes, tlvs: bytes
) -> None:
    """Parameters smpplib cannot hold (the example's) made it give up on the PDU: read
    again with the ones it holds, found after data_sm's own mandatory fields, the complaint
    in message_payload is kept whole."""
    pdu = _read(
        _with_tlvs("data_sm", _tlv(MESSAGE_PAYLOAD, payload) + tlvs, destination_addr="1708")
    )
    assert (pdu.command, pdu.sequence) == ("data_sm", 7)  # type: ignore[attr-defined]
    mo = classify(pdu)
    assert isinstance(mo, MoMessage)
    assert (mo.sender, mo.recipient, mo.payload) == ("6281234567890", "1708", payload)


def test_a_length_beyond_any_pdu_is_a_broken_stream_not_a_wait() -> None:
    with pytest.raises(SmppConnectionError):
        _read(struct.pack(">LLLL", 0xFFFFFF00, 4, 0, 1))
