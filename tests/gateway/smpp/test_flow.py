"""End to end against the smpp34 simulator: binds, MO in, reply out, receipts."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import select

from gateway.smpp.codec import gsm_encode
from gateway.smpp.link import Link
from gateway.smpp.simulator import SimulatorThread
from tests.gateway.smpp.conftest import Inbox, link_config

from support import wait_for


def _inbound(link: Link) -> list[tuple[str, str, int, bool]]:
    from models.db import session_scope
    from models.inbound import InboundMessage

    with session_scope() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(
                    InboundMessage.sender,
                    InboundMessage.text,
                    InboundMessage.parts,
                    InboundMessage.incomplete,
                )
                .where(InboundMessage.link == link.config.name)
                .order_by(InboundMessage.id)
            )
        ]


@pytest.mark.parametrize("bind", ["trx", "txrx"])
def test_mo_gets_its_reply_and_receipt(
    sim: SimulatorThread, start_link: Callable[..., tuple[Link, Inbox]], bind: str
) -> None:
    from models.db import session_scope
    from models.outbox import OutboundMessage

    link, inbox = start_link(link_config(sim, bind=bind))
    wait_for(link.bound, timeout_s=10)
    mo = sim.push("6281234567890", b"JALAN RUSAK di desa kami")
    wait_for(mo.acked.is_set, timeout_s=10)
    assert _inbound(link) == [("+6281234567890", "JALAN RUSAK di desa kami", 1, False)]
    wait_for(lambda: sim.sim.submitted, timeout_s=10)
    (reply,) = sim.sim.submitted
    assert reply.destination_addr == "6281234567890"
    assert reply.text() == f"Laporan #{inbox.ids[0]:07d} diterima. Terima kasih."

    def delivered() -> bool:
        with session_scope() as session:
            row = session.execute(select(OutboundMessage)).scalar_one()
            return row.status == "delivered"

    wait_for(delivered, timeout_s=10)
    assert sorted(sim.sim.binds) == (["trx"] if bind == "trx" else ["rx", "tx"])


def test_receipt_that_overtakes_its_submit_sm_resp_marks_the_reply_delivered(
    sim: SimulatorThread, start_link: Callable[..., tuple[Link, Inbox]]
) -> None:
    """Some SMSCs report delivery before they answer the submit_sm: the receipt is kept."""
    from models.db import session_scope
    from models.outbox import OutboundMessage

    sim.sim.early_receipts = True
    link, _ = start_link(link_config(sim))
    wait_for(link.bound, timeout_s=10)
    wait_for(sim.push("6281234567891", b"Banjir di RT 04").acked.is_set, timeout_s=10)
    wait_for(lambda: sim.sim.submitted, timeout_s=10)

    def reply() -> tuple[str, str | None, list[str]]:
        with session_scope() as session:
            row = session.execute(select(OutboundMessage)).scalar_one()
            return row.status, row.dlr_state, json.loads(row.external_ids)

    wait_for(lambda: reply()[0] == "delivered", timeout_s=10)
    assert reply() == ("delivered", "delivered", [sim.sim.submitted[0].message_id])


def _udh(ref: int, total: int, seq: int) -> bytes:
    return bytes([5, 0, 3, ref, total, seq])


def test_multipart_ucs2_with_emoji_out_of_order_and_redelivered(
    sim: SimulatorThread, start_link: Callable[..., tuple[Link, Inbox]]
) -> None:
    link, inbox = start_link(link_config(sim), answer=False)
    wait_for(link.bound, timeout_s=10)
    text = "Lampu jalan mati 😡 sudah seminggu, mohon diperbaiki 🙏"
    raw = text.encode("utf-16-be")
    cut = raw.index("😡".encode("utf-16-be")) + 2  # split inside the surrogate pair
    parts = [raw[:cut], raw[cut:40], raw[40:]]
    for seq in (3, 1, 3, 2):  # out of order, part 3 twice
        mo = sim.push(
            "6281111111111", _udh(200, 3, seq) + parts[seq - 1], esm_class=0x40, data_coding=8
        )
        wait_for(mo.acked.is_set, timeout_s=10)
    wait_for(lambda: inbox.ids, timeout_s=10)
    assert _inbound(link) == [("+6281111111111", text, 3, False)]


def test_sar_parts_and_timeout_mark_incomplete(
    sim: SimulatorThread, start_link: Callable[..., tuple[Link, Inbox]]
) -> None:
    import smpp34

    link, inbox = start_link(link_config(sim, reassembly_timeout_s=1), answer=False)
    wait_for(link.bound, timeout_s=10)

    def sar(seq: int) -> list[smpp34.Tlv]:
        return [
            smpp34.Tlv(smpp34.TLV_SAR_MSG_REF_NUM, (0x1234).to_bytes(2, "big")),
            smpp34.Tlv(smpp34.TLV_SAR_TOTAL_SEGMENTS, b"\x03"),
            smpp34.Tlv(smpp34.TLV_SAR_SEGMENT_SEQNUM, bytes([seq])),
        ]

    for seq, body in ((1, b"Sampah menumpuk "), (3, b"sejak Senin")):
        wait_for(sim.push("6282222222222", body, tlvs=sar(seq)).acked.is_set, timeout_s=10)
    wait_for(lambda: inbox.ids, timeout_s=10)
    assert _inbound(link) == [("+6282222222222", "Sampah menumpuk …sejak Senin", 2, True)]


def test_same_mo_twice_is_stored_once(
    sim: SimulatorThread, start_link: Callable[..., tuple[Link, Inbox]]
) -> None:
    link, inbox = start_link(link_config(sim))
    wait_for(link.bound, timeout_s=10)
    for _ in range(2):
        wait_for(sim.push("6283333333333", b"Pungli di kantor desa").acked.is_set, timeout_s=10)
    wait_for(lambda: sim.sim.submitted, timeout_s=10)
    assert len(_inbound(link)) == 1
    assert len(inbox.ids) == 1
    assert len(sim.sim.submitted) == 1


def test_long_reply_is_split_into_gsm_parts(
    sim: SimulatorThread, start_link: Callable[..., tuple[Link, Inbox]]
) -> None:
    from tests.gateway.smpp.conftest import reply_to

    link, inbox = start_link(link_config(sim), answer=False)
    wait_for(link.bound, timeout_s=10)
    wait_for(sim.push("6284444444444", b"info").acked.is_set, timeout_s=10)
    wait_for(lambda: inbox.ids, timeout_s=10)
    from models.db import session_scope
    from models.outbox import OutboundMessage

    text = "Status laporan {€}: " + "diproses dinas terkait. " * 12
    with session_scope() as session:
        session.add(
            OutboundMessage(
                recipient="+6284444444444",
                sender="1708",
                text=text,
                template="t",
                channel="smpp",
                link=link.config.name,
                idempotency_key="long",
            )
        )
    wait_for(lambda: len(sim.sim.submitted) >= 3, timeout_s=10)
    # With a window, parts may reach the SMSC in any order; the handset reassembles by UDH.
    parts = sorted(sim.sim.submitted, key=lambda p: p.short_message[5])
    assert [p.short_message[:6][5] for p in parts] == [1, 2, 3]
    assert len({p.short_message[3] for p in parts}) == 1  # one reference
    assert all(p.data_coding == 0 and p.esm_class & 0x40 for p in parts)
    assert "".join(p.text() for p in parts) == text
    del reply_to


def test_throttled_then_sent_once(
    sim: SimulatorThread, start_link: Callable[..., tuple[Link, Inbox]]
) -> None:
    from models.db import session_scope
    from models.outbox import OutboundMessage

    sim.throttle(3)
    link, _ = start_link(link_config(sim))
    wait_for(link.bound, timeout_s=10)
    wait_for(sim.push("6285555555555", b"Banjir").acked.is_set, timeout_s=10)
    wait_for(lambda: sim.sim.submitted, timeout_s=20)

    def status() -> str:
        with session_scope() as session:
            return session.execute(select(OutboundMessage.status)).scalar_one()

    wait_for(lambda: status() in ("sent", "delivered"), timeout_s=10)
    assert len(sim.sim.submitted) == 1


def test_wrong_password_keeps_retrying(
    sim: SimulatorThread, start_link: Callable[..., tuple[Link, Inbox]]
) -> None:
    link, _ = start_link(link_config(sim, password="wrong"))
    wait_for(lambda: sim.sim.refused_binds >= 3, timeout_s=15)
    assert not link.bound()
    assert all(s.is_alive() for s in link.sessions)


class Peer:
    """A hand-written SMSC on a loopback port: `script(conn, bind)` serves each connection,
    for what the smpp34 simulator never does."""

    def __init__(self, script: Callable[[socket.socket, bytes], None]) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.binds: list[bytes] = []
        self.script = script
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:  # closed
                return
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError, struct.error):
            bind = _read(conn)
            self.binds.append(bind)
            self.script(conn, bind)

    def close(self) -> None:
        self.server.close()


def _read(conn: socket.socket) -> bytes:
    header = conn.recv(4, socket.MSG_WAITALL)
    (length,) = struct.unpack(">L", header)
    return header + conn.recv(length - 4, socket.MSG_WAITALL)


def _pdu(command_id: int, sequence: int, status: int = 0, body: bytes = b"") -> bytes:
    return struct.pack(">LLLL", 16 + len(body), command_id, status, sequence) + body


BIND_RECEIVER, BIND_TRANSMITTER = 0x00000001, 0x00000002
SUBMIT_SM, ENQUIRE_LINK = 0x00000004, 0x00000015
DATA_SM, DATA_SM_RESP = 0x00000103, 0x80000103
MESSAGE_PAYLOAD, RECEIPTED_MESSAGE_ID, MESSAGE_STATE = 0x0424, 0x001E, 0x0427


def _smsc(
    answers: list[bytes],
    first: Callable[[int], bytes],
    then: Callable[[bytes], bytes] = lambda pdu: b"",
) -> Callable[[socket.socket, bytes], None]:
    """A Peer script: accept the bind, send `first(the bind's command id)`, then answer
    enquire_link (so the bind holds) and keep every other PDU in `answers`, sending
    `then(that PDU)` after it."""

    def script(conn: socket.socket, bind_pdu: bytes) -> None:
        command_id, _, sequence = struct.unpack(">LLL", bind_pdu[4:16])
        conn.sendall(_pdu(command_id | 0x80000000, sequence, body=b"smsc\x00"))
        conn.sendall(first(command_id))
        while True:
            pdu = _read(conn)
            command_id, _, sequence = struct.unpack(">LLL", pdu[4:16])
            if command_id == ENQUIRE_LINK:
                conn.sendall(_pdu(0x80000015, sequence))
            else:
                answers.append(pdu)
                conn.sendall(then(pdu))

    return script


def _tlv(tag: int, value: bytes) -> bytes:
    return struct.pack(">HH", tag, len(value)) + value


def _data_sm(sender: str, tlvs: bytes, esm_class: int = 0, data_coding: int = 0) -> bytes:
    """The body of a data_sm from `sender` (international) to 1708: it has no short_message,
    only its optional parameters after data_coding (SMPP 3.4, 4.7.1)."""
    addresses = b"\x00\x01\x01" + sender.encode() + b"\x00\x00\x00" + b"1708\x00"
    return addresses + bytes((esm_class, 0, data_coding)) + tlvs


def _answer(sequence: int, status: int = 0) -> bytes:
    """The data_sm_resp the link owes: `status` and an empty message_id."""
    return _pdu(DATA_SM_RESP, sequence, status, b"\x00")


def _delivered_twice(mo: bytes) -> tuple[Peer, list[bytes]]:
    """An SMSC that delivers the data_sm body `mo` (sequence 31) on a bind that receives and,
    once that is answered, delivers it again (32): after an answer asking for it again, or
    one it lost. Returns the peer and what the link answers it."""
    answers: list[bytes] = []

    def first(bind: int) -> bytes:
        return b"" if bind == BIND_TRANSMITTER else _pdu(DATA_SM, 31, body=mo)

    def again(pdu: bytes) -> bytes:
        command_id, _, sequence = struct.unpack(">LLL", pdu[4:16])
        return _pdu(DATA_SM, 32, body=mo) if (command_id, sequence) == (DATA_SM_RESP, 31) else b""

    return Peer(_smsc(answers, first, again)), answers


def test_a_garbled_answer_to_the_bind_is_retried_not_fatal(
    sim: SimulatorThread, start_link: Callable[..., tuple[Link, Inbox]]
) -> None:
    """A peer answering the bind with a PDU smpplib cannot read (an unknown command id): the
    session thread lived on only for connection errors, and the link stayed down for good."""
    peer = Peer(lambda conn, bind: conn.sendall(_pdu(0x0000FFFF, 1)))
    try:
        link, _ = start_link(link_config(sim, port=peer.port))
        wait_for(lambda: len(peer.binds) >= 3, timeout_s=15)
        assert all(s.is_alive() for s in link.sessions)
        assert not link.bound()
    finally:
        peer.close()


NO_FIELD_ENDS = b"\x01" * 7  # not one NUL: smpplib and the link cannot read it
CUT_OFF = b"\x00\x01\x01628"  # a data_sm cut off in its source_addr


@pytest.mark.parametrize(
    ("bind", "request_id", "body", "answer", "status"),
    [
        ("trx", SUBMIT_SM, b"\x00" * 17, 0x80000000, 0x03),  # an SMSC has no business sending it
        ("txrx", 0x00000005, b"\x00" * 17, 0x80000000, 0x04),  # deliver_sm on the transmitter
        ("txrx", DATA_SM, b"\x00" * 10, 0x80000000, 0x04),  # data_sm on the transmitter
        ("txrx", 0x00000005, NO_FIELD_ENDS, 0x80000000, 0x04),  # unreadable, on the transmitter
        ("trx", DATA_SM, CUT_OFF, DATA_SM_RESP, 0x65),  # unreadable: ESME_RX_P_APPN
    ],
    ids=[
        "submit_sm",
        "deliver_sm-on-tx",
        "data_sm-on-tx",
        "unreadable-deliver_sm-on-tx",
        "unreadable-data_sm",
    ],
)
def test_a_request_the_link_does_not_take_is_refused_not_left_unanswered(
    sim: SimulatorThread,
    start_link: Callable[..., tuple[Link, Inbox]],
    bind: str,
    request_id: int,
    body: bytes,
    answer: int,
    status: int,
) -> None:
    """A request smpplib reads but the link does not take went unanswered (the SMSC waits,
    then drops the bind), and a deliver_sm on a transmitter bind dropped the connection, again
    and again, as did an unreadable one (answered deliver_sm_resp, which a transmitter may not
    send). An MO on a transmitter is refused with ESME_RINVBNDSTS, an unreadable data_sm with
    ESME_RX_P_APPN in its own data_sm_resp. (What smpplib cannot read, cancel_sm or
    replace_sm, was refused already.)"""
    answers: list[bytes] = []

    def first(bind: int) -> bytes:  # not to a receiver: txrx's transmitter gets it
        return b"" if bind == BIND_RECEIVER else _pdu(request_id, 77, body=body)

    peer = Peer(_smsc(answers, first))
    try:
        link, _ = start_link(link_config(sim, port=peer.port, bind=bind))
        wait_for(lambda: answers, timeout_s=10)
        assert struct.unpack(">LLL", answers[0][4:16]) == (answer, status, 77)
        wait_for(link.bound, timeout_s=10)  # txrx: the receiver may bind after the answer
        assert len(peer.binds) == (1 if bind == "trx" else 2)  # the bind held
    finally:
        peer.close()


def _filed(link: Link, inbox: Inbox) -> list[tuple[str, str, int, bool]]:
    """What the link stored, once it has handed it on to be handled."""
    wait_for(lambda: inbox.ids, timeout_s=10)
    return _inbound(link)


GSM_TEXT = "Pungli Rp50.000 di kantor desa, katanya {biaya admin} €5 & Ñ"


@pytest.mark.parametrize(
    ("bind", "data_coding", "text"),
    [
        ("trx", 0, GSM_TEXT),
        ("txrx", 0, GSM_TEXT),  # the receiver gets it
        ("trx", 8, "Lampu jalan mati 😡 sudah seminggu, mohon diperbaiki 🙏"),
    ],
    ids=["trx-gsm", "txrx-gsm", "trx-ucs2-emoji"],
)
def test_a_data_sm_mo_is_stored_once_and_answered_with_data_sm_resp(
    sim: SimulatorThread,
    start_link: Callable[..., tuple[Link, Inbox]],
    bind: str,
    data_coding: int,
    text: str,
) -> None:
    """An SMSC that delivers MOs as data_sm, the text in message_payload, got generic_nack
    ESME_RINVCMDID: every complaint was lost. It is now answered data_sm_resp, once stored,
    and the same data_sm delivered again is the same one complaint."""
    payload = gsm_encode(text) if data_coding == 0 else text.encode("utf-16-be")
    mo = _data_sm("6281234567890", _tlv(MESSAGE_PAYLOAD, payload), data_coding=data_coding)
    peer, answers = _delivered_twice(mo)
    try:
        link, inbox = start_link(link_config(sim, port=peer.port, bind=bind), answer=False)
        wait_for(lambda: len(answers) >= 2, timeout_s=10)
        assert answers == [_answer(31), _answer(32)]
        assert _filed(link, inbox) == [("+6281234567890", text, 1, False)]
        assert len(inbox.ids) == 1
    finally:
        peer.close()


def test_a_data_sm_while_the_database_is_down_is_asked_for_again(
    sim: SimulatorThread,
    start_link: Callable[..., tuple[Link, Inbox]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While the database is away a data_sm gets ESME_RX_T_APPN, as a deliver_sm does: the
    SMSC delivers it again and the complaint is filed then, once."""
    from sqlalchemy.exc import OperationalError

    down = OperationalError("INSERT", {}, Exception("connection refused"))
    _failing_first(monkeypatch, "gateway.smpp.dbworker.store_singles", down)
    mo = _data_sm("6281234567894", _tlv(MESSAGE_PAYLOAD, b"Sampah menumpuk di pasar"))
    peer, answers = _delivered_twice(mo)
    try:
        link, inbox = start_link(link_config(sim, port=peer.port), answer=False)
        wait_for(lambda: len(answers) >= 2, timeout_s=10)
        assert answers == [_answer(31, 0x64), _answer(32)]
        assert _filed(link, inbox) == [("+6281234567894", "Sampah menumpuk di pasar", 1, False)]
    finally:
        peer.close()


def test_a_data_sm_receipt_marks_the_reply_delivered(
    sim: SimulatorThread, start_link: Callable[..., tuple[Link, Inbox]]
) -> None:
    """The SMSC reports the reply's delivery with a data_sm (esm_class 0x04, the
    receipted_message_id TLV without its NUL, message_state DELIVERED): it is matched to the
    reply as a deliver_sm receipt is, and answered data_sm_resp."""
    from models.db import session_scope
    from models.outbox import OutboundMessage

    receipt = _data_sm(
        "6281234567895",
        _tlv(RECEIPTED_MESSAGE_ID, b"4F2A01") + _tlv(MESSAGE_STATE, b"\x02"),
        esm_class=0x04,
    )
    answers: list[bytes] = []

    def accept_then_report(pdu: bytes) -> bytes:
        command_id, _, sequence = struct.unpack(">LLL", pdu[4:16])
        if command_id != SUBMIT_SM:
            return b""
        return _pdu(0x80000004, sequence, body=b"4F2A01\x00") + _pdu(DATA_SM, 41, body=receipt)

    complaint = _data_sm("6281234567895", _tlv(MESSAGE_PAYLOAD, b"Banjir di RT 04"))
    peer = Peer(_smsc(answers, lambda bind: _pdu(DATA_SM, 31, body=complaint), accept_then_report))
    try:
        start_link(link_config(sim, port=peer.port))

        def reply() -> tuple[object, ...] | None:
            with session_scope() as session:
                row = session.execute(
                    select(OutboundMessage.status, OutboundMessage.dlr_state)
                ).one_or_none()
                return tuple(row) if row else None

        wait_for(lambda: reply() == ("delivered", "delivered"), timeout_s=15)
        wait_for(lambda: _answer(41) in answers, timeout_s=5)
    finally:
        peer.close()


def _failing_first(monkeypatch: pytest.MonkeyPatch, target: str, error: Exception) -> None:
    """`target` (module.function) raises `error` on its first call, then works."""
    module, name = target.rsplit(".", 1)
    real = getattr(__import__(module, fromlist=[name]), name)
    calls: list[int] = []

    def once(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(target, once)


def test_an_unexpected_database_error_asks_for_the_mo_again(
    sim: SimulatorThread,
    start_link: Callable[..., tuple[Link, Inbox]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A failover's read-only transaction is no "database down" error; answered ESME_RX_P_APPN,
    the SMSC would drop the complaint for good. It gets ESME_RX_T_APPN and comes again."""
    from sqlalchemy.exc import InternalError

    read_only = InternalError("INSERT", {}, Exception("cannot execute INSERT in a read-only"))
    _failing_first(monkeypatch, "gateway.smpp.dbworker.store_singles", read_only)
    link, _ = start_link(link_config(sim))
    wait_for(link.bound, timeout_s=10)
    mo = sim.push("6281234567891", b"Lampu jalan mati")
    wait_for(mo.acked.is_set, timeout_s=20)
    assert mo.statuses == [0x64, 0]
    assert [text for _, text, *_ in _inbound(link)] == ["Lampu jalan mati"]


def test_the_outbox_feeder_outlives_an_unexpected_error(
    sim: SimulatorThread,
    start_link: Callable[..., tuple[Link, Inbox]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only "database down" errors were caught: any other error ended the feeder, and the
    link never sent again."""
    _failing_first(monkeypatch, "gateway.smpp.link.claim_outbound", RuntimeError("a bug"))
    link, _ = start_link(link_config(sim))
    wait_for(link.bound, timeout_s=10)
    sim.push("6281234567892", b"Sampah menumpuk")
    wait_for(lambda: sim.sim.submitted, timeout_s=15)
    assert link.feeder.is_alive()
    assert [s.destination_addr for s in sim.sim.submitted] == ["6281234567892"]


def test_stopping_lets_the_replies_in_flight_have_their_answers(
    sim: SimulatorThread, start_link: Callable[..., tuple[Link, Inbox]]
) -> None:
    """A deploy stops a link with replies in flight: they were failed as "the SMSC may have
    it" (their receipts never matched, and a retry by hand sent them twice)."""
    from models.db import session_scope
    from models.outbox import OutboundMessage

    link, _ = start_link(link_config(sim))
    wait_for(link.bound, timeout_s=10)
    sim.sim.answer_after_s = 1.0
    sim.push("6281234567893", b"Air PDAM tidak mengalir")
    wait_for(lambda: link.submitter.inflight == 1, timeout_s=10)
    link.stop(timeout_s=10)
    with session_scope() as session:
        assert session.execute(select(OutboundMessage.status)).scalar_one() == "sent"
    assert [s.destination_addr for s in sim.sim.submitted] == ["6281234567893"]


@pytest.mark.parametrize("bind", ["trx", "txrx"])
def test_a_stopped_link_unbinds_each_session_before_it_closes(
    sim: SimulatorThread,
    start_link: Callable[..., tuple[Link, Inbox]],
    bind: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """What a telco engineer expects of a well-behaved ESME: unbind, unbind_resp, then the
    TCP close; not a socket dropped while bound (nor a log saying so)."""
    link, _ = start_link(link_config(sim, bind=bind))
    wait_for(link.bound, timeout_s=10)
    before = sim.sim.unbinds
    link.stop(timeout_s=10)
    assert sim.sim.unbinds - before == len(link.sessions)
    assert "disconnecting in the bound state" not in caplog.text


def test_connection_dropped_mid_burst(
    sim: SimulatorThread, start_link: Callable[..., tuple[Link, Inbox]]
) -> None:
    from models.db import session_scope
    from models.outbox import OutboundMessage

    link, _inbox = start_link(link_config(sim))
    wait_for(link.bound, timeout_s=10)
    senders = [f"62856{n:08d}" for n in range(60)]
    pushed = [sim.push(s, f"Keluhan nomor {i}".encode()) for i, s in enumerate(senders)]
    wait_for(lambda: sum(m.acked.is_set() for m in pushed) >= 20, timeout_s=10)
    sim.drop()
    wait_for(lambda: all(m.acked.is_set() for m in pushed), timeout_s=30)
    inbound = _inbound(link)
    assert sorted(s for s, *_ in inbound) == sorted(f"+{s}" for s in senders)  # once each

    def settled() -> list[str]:
        with session_scope() as session:
            statuses = list(session.execute(select(OutboundMessage.status)).scalars())
        return statuses if all(s in ("sent", "delivered", "failed") for s in statuses) else []

    statuses = wait_for(settled, timeout_s=20)
    answered = [s.destination_addr for s in sim.sim.submitted]
    assert len(answered) == len(set(answered))  # nobody answered twice
    # A reply in flight when the line dropped is failed, not re-sent: at most a window of them.
    assert len(statuses) == len(senders)
    assert statuses.count("failed") <= link.config.window
    assert len(answered) >= len(senders) - statuses.count("failed")


def test_lease_is_renewed_while_a_throttled_reply_waits(
    sim: SimulatorThread,
    start_link: Callable[..., tuple[Link, Inbox]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A row held behind throttling keeps its lease: the sweep never fails what is still coming."""
    from gateway.smpp import link as link_module
    from models.db import session_scope
    from models.outbox import OutboundMessage

    monkeypatch.setattr(link_module, "RENEW_EVERY_S", 0.3)
    sim.throttle(4)  # pauses of 0.5 + 1 + 2 + 4 s before the SMSC accepts
    link, _ = start_link(link_config(sim))
    wait_for(link.bound, timeout_s=10)
    wait_for(sim.push("6285555500000", b"Banjir").acked.is_set, timeout_s=10)

    def lease() -> tuple[str, object]:
        with session_scope() as session:
            return tuple(
                session.execute(select(OutboundMessage.status, OutboundMessage.lease_until)).one()
            )  # type: ignore[return-value]

    first = wait_for(lambda: (row := lease())[0] == "sending" and row, timeout_s=10)
    renewed = wait_for(
        lambda: (row := lease())[0] == "sending" and row[1] > first[1] and row, timeout_s=5
    )
    assert renewed[1] > first[1]
    wait_for(lambda: lease()[0] in ("sent", "delivered"), timeout_s=20)
    assert len(sim.sim.submitted) == 1
