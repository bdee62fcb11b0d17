"""End to end over SMPP: the smpp34 SMSC, `python app.py smpp` and `python app.py worker` as real
processes, the real handlers. What a citizen texts becomes a complaint; the tracking number
comes back over the same link, once, whatever the SMSC does in between."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gateway.smpp.config import LinkConfig
from gateway.smpp.simulator import Mo, SimulatorThread, Submitted
from tests.gateway.smpp.conftest import SmppProcess, link_config, wait_bound

from support import wait_for


def complaints() -> list[tuple[int, str, str]]:
    """(tracking number, reporter's reply address, text) of every complaint, oldest first."""
    from models.complaints import Complaint
    from models.db import session_scope

    with session_scope() as session:
        rows = session.execute(
            select(Complaint.tracking_number, Complaint.reply_address, Complaint.text).order_by(
                Complaint.id
            )
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def outbox() -> list[tuple[str, str, str]]:
    """(recipient, status, text) of every outbox row, oldest first."""
    from models.db import session_scope
    from models.outbox import OutboundMessage

    with session_scope() as session:
        rows = session.execute(
            select(
                OutboundMessage.recipient, OutboundMessage.status, OutboundMessage.text
            ).order_by(OutboundMessage.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def replies_to(sim: SimulatorThread, msisdn: str) -> list[Submitted]:
    return [s for s in sim.sim.submitted if s.destination_addr == msisdn]


def acked(mo: Mo, timeout_s: float = 15) -> None:
    wait_for(mo.acked.is_set, timeout_s=timeout_s)


def reply_text(parts: list[Submitted]) -> str:
    """A reply as the handset shows it: concatenated parts put back in UDH order."""
    return "".join(p.text() for p in sorted(parts, key=lambda p: p.short_message[5]))


def messages(parts: list[Submitted]) -> int:
    """How many messages these submit_sm make up (the parts of one share a UDH reference)."""
    return len({p.short_message[3] if p.esm_class & 0x40 else p.message_id for p in parts})


@pytest.fixture()
def bound_link(sim: SimulatorThread, smpp_process: SmppProcess) -> LinkConfig:
    """`python app.py smpp` bound to the simulator with the default test link."""
    link = link_config(sim)
    smpp_process(link)
    wait_bound(link.name)
    return link


def assert_one_complaint_answered(sim: SimulatorThread, msisdn: str, text: str) -> None:
    """One complaint with this text, and one reply carrying its tracking number to the sender."""
    (tracking,) = wait_for(lambda: [n for n, _, t in complaints() if t == text], timeout_s=20)
    wait_for(
        lambda: reply_text(replies_to(sim, msisdn)) in [t for _, _, t in outbox()], timeout_s=20
    )
    assert f"#{tracking}" in reply_text(replies_to(sim, msisdn))
    assert messages(replies_to(sim, msisdn)) == 1


@pytest.mark.parametrize("bind", ["trx", "txrx"])
def test_complaint_gets_its_tracking_number_and_receipt(
    sim: SimulatorThread, smpp_process: SmppProcess, bind: str
) -> None:
    link = link_config(sim, bind=bind)
    smpp_process(link)
    wait_bound(link.name)
    text = "Jalan rusak berlubang di Kabupaten Sijunjung, mohon segera diperbaiki"
    acked(sim.push("6281234500001", text.encode()))
    assert_one_complaint_answered(sim, "6281234500001", text)
    ((_, address, _),) = complaints()
    assert address == "+6281234500001"
    wait_for(lambda: outbox()[0][1] == "delivered", timeout_s=15)  # the SMSC's receipt matched
    assert sorted(sim.sim.binds) == (["trx"] if bind == "trx" else ["rx", "tx"])


def _udh(ref: int, total: int, seq: int) -> bytes:
    return bytes([5, 0, 3, ref, total, seq])


def test_multipart_ucs2_emoji_out_of_order_is_one_complaint(
    sim: SimulatorThread, bound_link: LinkConfig
) -> None:
    text = "Lampu jalan mati 😡 sudah seminggu di Kota Padang, mohon diperbaiki 🙏 terima kasih"
    raw = text.encode("utf-16-be")
    cut = raw.index("😡".encode("utf-16-be")) + 2  # split inside the surrogate pair
    parts = [raw[:cut], raw[cut:90], raw[90:]]
    for seq in (3, 1, 3, 2):  # out of order, part 3 twice
        push = _udh(77, 3, seq) + parts[seq - 1]
        acked(sim.push("6281234500002", push, esm_class=0x40, data_coding=8))
    assert_one_complaint_answered(sim, "6281234500002", text)
    assert len(complaints()) == 1


def test_ucs2_mo_padded_with_nul_is_a_complaint(
    sim: SimulatorThread, bound_link: LinkConfig
) -> None:
    """Some handsets pad UCS-2 with NUL; PostgreSQL refuses NUL in text, so it must not reach it."""
    text = "Sekolah rusak 🏚️ di Kabupaten Solok"
    acked(sim.push("6281234500009", text.encode("utf-16-be") + b"\x00\x00", data_coding=8))
    assert_one_complaint_answered(sim, "6281234500009", text)


def test_long_reply_is_split_with_one_reference(
    sim: SimulatorThread, bound_link: LinkConfig
) -> None:
    acked(sim.push("6281234500003", b"BANTUAN"))  # the help text needs two segments
    wait_for(lambda: len(replies_to(sim, "6281234500003")) >= 2, timeout_s=20)
    ((_, _, text),) = wait_for(outbox)
    parts = replies_to(sim, "6281234500003")
    assert len(text) > 160 and len(parts) == -(-len(text) // 153)
    assert {p.short_message[3] for p in parts} == {parts[0].short_message[3]}  # one reference
    assert sorted(p.short_message[5] for p in parts) == list(range(1, len(parts) + 1))
    assert all(p.data_coding == 0 and p.esm_class & 0x40 for p in parts)
    assert reply_text(parts) == text


def test_throttled_reply_is_sent_once(sim: SimulatorThread, smpp_process: SmppProcess) -> None:
    sim.throttle(4)
    link = link_config(sim)
    smpp_process(link)
    wait_bound(link.name)
    text = "Banjir setinggi lutut di Kecamatan Koto Tangah Kota Padang"
    acked(sim.push("6281234500004", text.encode()))
    assert_one_complaint_answered(sim, "6281234500004", text)
    wait_for(lambda: outbox()[0][1] in ("sent", "delivered"), timeout_s=15)
    assert messages(sim.sim.submitted) == 1


def test_same_mo_delivered_twice_is_one_complaint(
    sim: SimulatorThread, bound_link: LinkConfig
) -> None:
    text = "Pungli pembuatan KTP di kantor Disdukcapil Kabupaten Agam"
    for _ in range(2):
        acked(sim.push("6281234500005", text.encode()))
    assert_one_complaint_answered(sim, "6281234500005", text)
    assert len(complaints()) == 1
    assert len(outbox()) == 1


def test_connection_dropped_mid_burst(sim: SimulatorThread, bound_link: LinkConfig) -> None:
    """Every MO is stored once and re-delivered until acked; no reply goes out twice.

    A reply whose submit_sm was in flight when the line dropped may or may
    not have reached the SMSC: it is failed visibly (never re-sent), so at
    most a window of replies is missing, each visible as a failed outbox row.
    """
    senders = [f"62857{n:08d}" for n in range(80)]
    pushed = [
        sim.push(s, f"Keluhan {i}: sampah menumpuk di pasar Kota Bukittinggi".encode())
        for i, s in enumerate(senders)
    ]
    wait_for(lambda: sum(m.acked.is_set() for m in pushed) >= 25, timeout_s=15)
    sim.drop()
    wait_for(lambda: all(m.acked.is_set() for m in pushed), timeout_s=40)
    filed = wait_for(lambda: len(complaints()) == len(senders) and complaints(), timeout_s=30)
    assert sorted(address for _, address, _ in filed) == sorted(f"+{s}" for s in senders)

    def settled() -> list[str]:
        statuses = [status for _, status, _ in outbox()]
        done = len(statuses) == len(senders) and all(
            s in ("sent", "delivered", "failed") for s in statuses
        )
        return statuses if done else []

    statuses = wait_for(settled, timeout_s=30)
    answered = {s.destination_addr for s in sim.sim.submitted}
    assert all(messages(replies_to(sim, msisdn)) == 1 for msisdn in answered)  # nobody twice
    assert statuses.count("failed") <= bound_link.window
    assert len(answered) >= len(senders) - statuses.count("failed")


def test_wrong_password_keeps_process_alive_and_retrying(
    sim: SimulatorThread, smpp_process: SmppProcess
) -> None:
    link = link_config(sim, password="rotated")
    proc = smpp_process(link)
    wait_for(lambda: sim.sim.refused_binds >= 3, timeout_s=20)
    assert proc.poll() is None
    sim.sim.password = "rotated"  # the telco applies the new password: the next retry binds
    wait_bound(link.name, timeout_s=20)
    text = "Sinyal internet hilang sejak seminggu di Nagari Koto Baru"
    acked(sim.push("6281234500006", text.encode()))
    assert_one_complaint_answered(sim, "6281234500006", text)


def test_unanswered_enquire_link_declares_the_link_dead_and_reconnects(
    sim: SimulatorThread, smpp_process: SmppProcess
) -> None:
    link = link_config(sim, enquire_link_s=0.5, response_timeout_s=1.5)
    smpp_process(link)
    wait_bound(link.name)
    sim.sim.mute_enquire_link = True
    wait_for(lambda: len(sim.sim.binds) >= 2, timeout_s=15)  # declared dead, bound again
    sim.sim.mute_enquire_link = False
    text = "Antrian BPJS Kesehatan sangat panjang di RSUD Kota Solok"
    acked(sim.push("6281234500007", text.encode()))
    assert_one_complaint_answered(sim, "6281234500007", text)


def test_an_impostor_over_smpp_is_refused_and_audited(
    sim: SimulatorThread, bound_link: LinkConfig
) -> None:
    from models.complaints import Complaint, ComplaintEvent, Status
    from models.db import session_scope

    from web_support import file

    complaint = file("Jembatan putus", agency="PUPR.13.03", sector="PEKERJAAN_UMUM", region="13.03")
    acked(sim.push("6281300000077", f"SELESAI {complaint.tracking_number} beres".encode()))
    wait_for(lambda: replies_to(sim, "6281300000077"), timeout_s=20)
    assert "hanya untuk petugas" in reply_text(replies_to(sim, "6281300000077"))
    with session_scope() as session:
        assert session.get(Complaint, complaint.id).status == Status.ASSIGNED  # type: ignore[union-attr]
        actions = session.scalars(
            select(ComplaintEvent.action).where(ComplaintEvent.complaint_id == complaint.id)
        ).all()
    assert "refused" in actions
