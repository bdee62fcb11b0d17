"""The PDUs a link builds itself are the octets smpplib would send, and smpplib reads them back."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from smpplib import consts, smpp
from smpplib.client import Client

from gateway.smpp.wire import deliver_sm_resp, submit_sm

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
