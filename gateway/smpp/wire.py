"""Reading PDUs with python-smpplib without letting a peer's odd PDU end the connection.

smpplib raises on optional parameters its command class does not list (e.g. a
deliver_sm with ussd_service_op) and misreads integer TLVs of unexpected
length. A deliver_sm or data_sm (some SMSCs deliver MOs and receipts with
data_sm) it cannot parse is parsed again with only the TLVs it knows; anything
still unreadable is reported with its header so it can be answered.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from smpplib import command, command_codes, consts, smpp
from smpplib.client import Client
from smpplib.exceptions import ConnectionError as SmppConnectionError
from smpplib.exceptions import PDUError
from smpplib.ptypes import flag

DELIVER_SM = command_codes.get_command_code("deliver_sm")
DATA_SM = command_codes.get_command_code("data_sm")
# What an SMSC delivers an MO or a receipt with (name -> command id): both are taken alike.
MO_COMMANDS = {"deliver_sm": DELIVER_SM, "data_sm": DATA_SM}
RECEIPTED_MESSAGE_ID = consts.OPTIONAL_PARAMS["receipted_message_id"]
# A header and message_payload's 64 KB at most, with room for the other fields: a longer
# length is a broken stream, not a PDU to wait for.
MAX_PDU_LENGTH = 16 + 65_535 + 1_024


class UnreadablePdu(Exception):
    def __init__(self, command_id: int, sequence: int) -> None:
        super().__init__(f"unreadable PDU 0x{command_id:08X} seq {sequence}")
        self.command_id = command_id
        self.sequence = sequence


def _skip_cstring(body: bytes, pos: int) -> int:
    end = body.index(b"\x00", pos)
    return end + 1


def _frame(command_id: int, status: int, sequence: int, body: bytes) -> bytes:
    return struct.pack(">LLLL", 16 + len(body), command_id, status, sequence) + body


def _addresses_end(body: bytes) -> int:
    """Where the esm_class of a deliver_sm's or data_sm's `body` is: both begin alike."""
    pos = _skip_cstring(body, 0) + 2  # service_type, source ton/npi
    pos = _skip_cstring(body, pos) + 2  # source_addr, dest ton/npi
    return _skip_cstring(body, pos)  # destination_addr


def _deliver_sm_end(body: bytes) -> int:
    """Where a deliver_sm's `body` ends its mandatory fields and starts its TLVs."""
    pos = _addresses_end(body) + 3  # esm_class, protocol_id, priority
    pos = _skip_cstring(body, pos)  # schedule_delivery_time
    pos = _skip_cstring(body, pos) + 4  # validity_period, reg_delivery, replace, dcs, default id
    return pos + 1 + body[pos]  # sm_length, short_message


def _data_sm_end(body: bytes) -> int:
    """Where a data_sm's `body` ends its mandatory fields (it has no short_message)."""
    return _addresses_end(body) + 3  # esm_class, registered_delivery, data_coding


# command id -> (smpplib's class for it, where its TLVs start)
_LAYOUTS: dict[int, tuple[type[command.Command], Callable[[bytes], int]]] = {
    DELIVER_SM: (command.DeliverSM, _deliver_sm_end),
    DATA_SM: (command.DataSM, _data_sm_end),
}


def _tlvs(command_id: int, body: bytes) -> Iterator[tuple[int, int, int]]:
    """(tag, start, end) of each TLV of a deliver_sm's or data_sm's `body`."""
    pos = _LAYOUTS[command_id][1](body)
    while pos + 4 <= len(body):
        tag, length = struct.unpack(">HH", body[pos : pos + 4])
        yield tag, pos, pos + 4 + length
        pos += 4 + length


def _holds(param: command.Param, length: int) -> bool:
    """Whether smpplib reads a TLV of `length` octets as `param` and stays in step: it reads
    an integer at its own size and a flag as empty, whatever the length says."""
    if param.type is int:
        return param.size == length
    return param.type is not flag or length == 0


def known_tlvs_only(raw: bytes) -> bytes:
    """The deliver_sm or data_sm `raw` without TLVs smpplib's class for it cannot hold."""
    command_id, status, sequence = struct.unpack(">LLL", raw[4:16])
    body = raw[16:]
    pdu_class, mandatory_end = _LAYOUTS[command_id]
    kept = bytearray(body[: mandatory_end(body)])
    params = pdu_class.params
    names = {code: name for name, code in consts.OPTIONAL_PARAMS.items()}
    for tag, start, end in _tlvs(command_id, body):
        name = names.get(tag)
        param = params.get(name) if name else None
        if param is not None and _holds(param, end - start - 4):
            kept += body[start:end]
    return _frame(command_id, status, sequence, bytes(kept))


def receipted_message_id(raw: bytes) -> bytes | None:
    """The receipted_message_id TLV of a deliver_sm or data_sm, as sent: smpplib drops its
    last octet as the NUL the specification asks for, which many SMSCs leave out ("12345" ->
    "1234", another message's id)."""
    (command_id,) = struct.unpack(">L", raw[4:8])
    for tag, start, end in _tlvs(command_id, raw[16:]):
        if tag == RECEIPTED_MESSAGE_ID:
            return raw[16 + start + 4 : 16 + end].rstrip(b"\x00")
    return None


def read_pdu(client: Client) -> Any:
    """The next PDU from the socket (smpplib's framing and parser, made tolerant)."""
    raw_len = client._recv_exact(4)
    (length,) = struct.unpack(">L", raw_len)
    if not 16 <= length <= MAX_PDU_LENGTH:
        raise SmppConnectionError(f"broken PDU length {length}")
    raw = raw_len + client._recv_exact(length - 4)
    command_id, _status, sequence = struct.unpack(">LLL", raw[4:16])
    try:
        return _parse(client, raw)
    except Exception:  # noqa: BLE001 - smpplib raises KeyError, struct.error, ...
        if command_id in _LAYOUTS:
            try:
                return _parse(client, known_tlvs_only(raw))
            except Exception:  # noqa: BLE001 - reported below as unreadable
                pass
        raise UnreadablePdu(command_id, sequence) from None


SUBMIT_SM = command_codes.get_command_code("submit_sm")
# deliver_sm / data_sm -> the name and the command id of its response
_MO_RESPONSES = {
    name: (f"{name}_resp", command_codes.get_command_code(f"{name}_resp")) for name in MO_COMMANDS
}


@dataclass(frozen=True)
class Encoded:
    """A PDU of the hot path with its octets built directly: smpplib's generic builder
    spent about 50 us on each submit_sm (one for every reply segment), this builds the
    same octets in 1 us (tests/gateway/smpp/test_wire.py compares them with smpplib's)."""

    command: str
    sequence: int
    octets: bytes

    def generate(self) -> bytes:
        return self.octets


ADDRESS_MAX = 20  # octets of an address before its NUL (smpplib cuts longer ones, as here)


def _address(value: str) -> bytes:
    return value[:ADDRESS_MAX].encode("latin-1") + b"\x00"


def submit_sm(
    sequence: int,
    source: tuple[int, int, str],
    destination: tuple[int, int, str],
    esm_class: int,
    data_coding: int,
    registered_delivery: int,
    short_message: bytes,
) -> Encoded:
    """A submit_sm with no optional parameters; addresses are (TON, NPI, digits)."""
    (source_ton, source_npi, source_addr), (dest_ton, dest_npi, dest_addr) = source, destination
    body = b"".join(
        (
            b"\x00",  # service_type: the SMSC's default
            bytes((source_ton, source_npi)),
            _address(source_addr),
            bytes((dest_ton, dest_npi)),
            _address(dest_addr),
            bytes((esm_class, 0, 0)),  # protocol_id, priority_flag
            b"\x00\x00",  # schedule_delivery_time, validity_period: now, the SMSC's default
            bytes((registered_delivery, 0, data_coding, 0, len(short_message))),
            short_message,
        )
    )
    return Encoded("submit_sm", sequence, _frame(SUBMIT_SM, 0, sequence, body))


def mo_resp(command_name: str, sequence: int, status: int) -> Encoded:
    """The answer to a deliver_sm or data_sm (`command_name`): its status and an empty
    message_id, the one body both responses have (SMPP 3.4, 4.6.2 and 4.7.2)."""
    name, command_id = _MO_RESPONSES[command_name]
    return Encoded(name, sequence, _frame(command_id, status, sequence, b"\x00"))


def send_pdus(client: Client, pdus: list[Any]) -> None:
    """Send PDUs in one write, as smpplib's send_pdu sends one.

    A burst of submit_sm or of answers to MOs then costs one system call and
    reaches the SMSC in as few TCP segments as it fits, so the SMSC reads
    the burst at once instead of waking for every PDU.
    """
    if not pdus:
        return
    for pdu in pdus:
        if client.state not in consts.COMMAND_STATES[pdu.command]:
            raise PDUError(f"{pdu.command} not allowed in state {client.state}")
    try:
        client._socket.sendall(b"".join(pdu.generate() for pdu in pdus))
    except OSError as exc:
        raise SmppConnectionError(str(exc)) from exc


def _parse(client: Client, raw: bytes) -> Any:
    pdu = smpp.parse_pdu(raw, client=client, allow_unknown_opt_params=True)
    if pdu is None:
        raise ValueError("unknown command")
    if pdu.command in MO_COMMANDS and pdu.receipted_message_id is not None:
        pdu.receipted_message_id = receipted_message_id(raw)
    if not pdu.is_error() and pdu.command in consts.STATE_SETTERS:
        client.state = consts.STATE_SETTERS[pdu.command]
    return pdu
