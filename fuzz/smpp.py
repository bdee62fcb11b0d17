"""Fuzz target: SMPP input from the SMSC: PDU framing and TLVs, UDH, receipts, MO reassembly (pure).

read_pdu on any byte stream gives PDUs or its own clean errors; a well-framed
deliver_sm is classified without an exception; a receipt's id never breaks
its lookup; concatenated parts decode the same in any order.
"""

from __future__ import annotations

import struct

import atheris

from fuzz.runner import instrumented, run, seed_bytes

with instrumented():
    from smpplib.client import Client
    from smpplib.exceptions import ConnectionError as SmppConnectionError

    from fuzz.drive import SmscBytes
    from gateway.smpp.mo import MoMessage, classify
    from gateway.smpp.reassembly import _decode_parts
    from gateway.smpp.receipts import Receipt, id_candidates
    from gateway.smpp.wire import DELIVER_SM, UnreadablePdu, read_pdu
    from models.mo_parts import SmppMoPart


CLIENT = Client("127.0.0.1", 2775, allow_unknown_opt_params=True)


def _read_all(stream: bytes) -> list[object]:
    """Every PDU of the stream, as the link's read loop takes them (unreadable ones skipped)."""
    CLIENT._socket = SmscBytes(stream)  # type: ignore[assignment]
    pdus: list[object] = []
    try:
        for _ in range(len(stream) // 16 + 1):
            try:
                pdus.append(read_pdu(CLIENT))
            except UnreadablePdu:
                continue
    except SmppConnectionError:
        return pdus
    finally:
        CLIENT._socket = None
    raise AssertionError("more PDUs than the stream holds")


def _deliver_sm(fdp: atheris.FuzzedDataProvider) -> bytes:
    """A deliver_sm with fuzzed header fields, short_message and TLV area."""
    esm, dcs = fdp.ConsumeIntInRange(0, 255), fdp.ConsumeIntInRange(0, 255)
    message = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 254))
    tlvs = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 64))
    body = (
        b"\x00\x01\x01628123\x00\x00\x001708\x00" + bytes([esm, 0, 0]) + b"\x00\x00"
        + bytes([0, 0, dcs, 0, len(message)]) + message + tlvs
    )  # fmt: skip
    return struct.pack(">LLLL", 16 + len(body), DELIVER_SM, 0, 3) + body


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    mode = fdp.ConsumeIntInRange(0, 2)
    if mode == 0:
        stream = fdp.ConsumeBytes(fdp.remaining_bytes())
    elif mode == 1:
        stream = _deliver_sm(fdp)
    else:
        stream = b""
    for pdu in _read_all(stream):
        if getattr(pdu, "command", None) == "deliver_sm":
            content = classify(pdu)
            if isinstance(content, Receipt):
                assert id_candidates(content.message_id)[0] == content.message_id
            elif isinstance(content, MoMessage):
                assert "\x00" not in content.text() and len(content.digest) == 40
    if mode == 2:
        coding = fdp.ConsumeIntInRange(0, 255)
        total = fdp.ConsumeIntInRange(2, 8)
        pieces = [fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 40)) for _ in range(total)]
        order = list(range(total))
        fdp_order = fdp.ConsumeIntListInRange(total, 0, total - 1)
        for i, j in enumerate(fdp_order):
            order[i], order[j] = order[j], order[i]
        parts = [SmppMoPart(seq=i + 1, data_coding=coding, payload=pieces[i]) for i in order]
        in_order = [
            SmppMoPart(seq=i + 1, data_coding=coding, payload=p) for i, p in enumerate(pieces)
        ]
        assert _decode_parts(parts, total) == _decode_parts(in_order, total)


SEEDS = [
    seed_bytes(struct.pack(">LLLL", 16, 0x15, 0, 1), 0),  # enquire_link
    seed_bytes(struct.pack(">LLLL", 17, 0x80000004, 0, 2) + b"\xff", 0),  # resp without NUL
    # mode 1: esm_class, data_coding, message length, TLV length; message then TLVs in front
    seed_bytes(
        b"\x05\x00\x03\x07\x02\x01halo" + struct.pack(">HHB", 0x0501, 1, 1), 1, 0x40, 0, 10, 5
    ),
    seed_bytes(b"id:123 stat:DELIVRD err:000", 1, 0x04, 0, 27, 0),
    seed_bytes(b"\x00J\x00a\xd8=\xde\x00" + struct.pack(">HHH", 0x020E, 2, 2), 1, 0, 8, 8, 6),
    # mode 2: data_coding, part count, part lengths; the parts in front
    seed_bytes(b"\x00J\xd8=\xde\x00", 2, 8, 2, 3, 3),
]

if __name__ == "__main__":
    run(one_input, SEEDS)
