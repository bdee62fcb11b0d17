"""The PDUs a link builds itself are the octets smpplib would send, and smpplib reads them back;\nwhat a link reads from a peer is what the peer sent."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from smpplib import consts, smpp
from smpplib.client import Client
from smpplib.exceptions import ConnectionError as SmppConnectionError

from fuzz.drive import SmscBytes
from gateway.smpp.mo import classify
from gateway.smpp.receipts import Receipt
from gateway.smpp.wire import deliver_sm_resp, read_pdu, submit_sm

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


@given(SEQUENCE, st.sampled_from([consts.SMPP_ESME_ROK, 0x64, 0x65]))
def test_a_deliver_sm_resp_is_what_smpplib_would_send(sequence: int, status: int) -> None:
    theirs = smpp.make_pdu("deliver_sm_resp", client=CLIENT, status=status)
    theirs.sequence = sequence
    assert deliver_sm_resp(sequence, status).generate() == theirs.generate()


def _read(raw: bytes) -> object:
    client = Client("127.0.0.1", 2775, allow_unknown_opt_params=True)
    client.state = consts.SMPP_CLIENT_STATE_BOUND_TRX
    client._socket = SmscBytes(raw)  # type: ignore[assignment]
    return read_pdu(client)


def _receipt_pdu(tlv_id: bytes) -> bytes:
    """A deliver_sm receipt whose receipted_message_id TLV holds `tlv_id` as sent."""
    pdu = smpp.make_pdu("deliver_sm", client=CLIENT, esm_class=4, short_message=b"stat:DELIVRD")
    pdu.sequence = 7
    tlvs = struct.pack(">HH", 0x001E, len(tlv_id)) + tlv_id + struct.pack(">HHB", 0x0427, 1, 2)
    raw = pdu.generate() + tlvs
    return struct.pack(">L", len(raw)) + raw[4:]


@pytest.mark.parametrize("sent", [b"12345", b"12345\x00"])
def test_a_receipt_id_is_read_whole_with_or_without_its_nul(sent: bytes) -> None:
    """smpplib drops the last octet of the TLV as its NUL: without one, "12345" was "1234",
    another message's id."""
    receipt = classify(_read(_receipt_pdu(sent)))
    assert receipt == Receipt("12345", "delivered", None)


def test_a_length_beyond_any_pdu_is_a_broken_stream_not_a_wait() -> None:
    with pytest.raises(SmppConnectionError):
        _read(struct.pack(">LLLL", 0xFFFFFF00, 4, 0, 1))
