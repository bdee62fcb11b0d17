"""The inbound job: many messages a transaction, a failing one alone rolled back and marked failed."""

from __future__ import annotations

import logging
import threading
from unittest.mock import patch

import pytest
from sqlalchemy import select

from handlers import jobs
from handlers.router import router_for
from models import admin
from models.complaints import Complaint
from models.db import session_scope
from models.inbound import InboundMessage
from models.outbox import OutboundMessage

from channels import count, outbox_rows, store_texts
from support import statements_sent

TEXTS = {
    "+6281234560001": "Jalan rusak di Kota Padang",
    "+6281234560002": "Sampah menumpuk di pasar Kota Bukittinggi",
    "+6281234560003": "Lampu jalan mati di Kabupaten Agam",
}


def _store() -> dict[str, int]:
    return dict(zip(TEXTS, store_texts(list(TEXTS.items()), "group"), strict=True))


def test_a_group_is_handled_in_one_go(db: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    ids = _store()
    with caplog.at_level(logging.WARNING, logger="handlers.jobs"):
        jobs.process_inbound(list(ids.values())[::-1])
    assert "one by one" not in caplog.text
    assert count(InboundMessage, InboundMessage.state == "processed") == len(TEXTS)
    with session_scope() as session:
        assert set(session.scalars(select(Complaint.text))) == set(TEXTS.values())


def test_a_failing_message_fails_alone(db: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _store()
    broken = ids["+6281234560002"]
    handle = jobs.handle_group

    def flaky(session, inbounds):  # type: ignore[no-untyped-def]
        if any(inbound.id == broken for inbound in inbounds):
            raise RuntimeError("handler bug")
        return handle(session, inbounds)

    monkeypatch.setattr(jobs, "handle_group", flaky)
    jobs.process_inbound(list(ids.values()))
    with session_scope() as session:
        states = dict(
            session.execute(select(InboundMessage.id, InboundMessage.state)).tuples().all()
        )
        filed = set(session.scalars(select(Complaint.text)))
    assert states[broken] == "failed"
    assert [states[i] for i in ids.values() if i != broken] == ["processed", "processed"]
    assert filed == {TEXTS["+6281234560001"], TEXTS["+6281234560003"]}


def test_one_group_of_every_kind_of_message(
    db: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """New complaints of several reporters are filed together; everything else keeps its meaning:
    a text sent twice in the group is one complaint and a 'duplicate' reply, CEK answers, a blocked
    number is ignored, a stranger's TERIMA is refused, the agency's officer hears of the new one."""
    padang, twice, asks, blocked, stranger, officer = (f"+62812345670{n:02d}" for n in range(6))
    twice_text = "Sampah menumpuk di pasar Kota Bukittinggi"
    with session_scope() as session:
        agency = router_for(session).route(TEXTS["+6281234560001"]).agency_code
        admin.add_officer(session, agency_code=agency, msisdn=officer)
        admin.block_reporter(session, blocked)
    ids = store_texts(
        [
            (twice, twice_text),
            (padang, TEXTS["+6281234560001"]),
            (asks, "CEK"),
            (twice, twice_text),
            (blocked, "Lampu jalan mati di Kabupaten Agam"),
            (stranger, "TERIMA 1000001"),
        ],
        "mixed",
    )
    with caplog.at_level(logging.WARNING, logger="handlers.jobs"):
        jobs.process_inbound(ids)
    assert "one by one" not in caplog.text
    assert count(InboundMessage, InboundMessage.state == "processed") == len(ids)
    with session_scope() as session:
        filed = {c.reply_address: c.tracking_number for c in session.scalars(select(Complaint))}
    assert set(filed) == {twice, padang}
    replies = {
        (row.recipient, row.template): row.text for row in outbox_rows(OutboundMessage.id > 0)
    }
    assert set(replies) == {
        (twice, "ack_new"),
        (twice, "duplicate"),
        (padang, "ack_new"),
        (asks, "status_none"),
        (stranger, "not_an_officer"),
        (officer, "officer_new"),
    }
    assert f"#{filed[twice]}" in replies[(twice, "ack_new")]
    assert f"#{filed[twice]}" in replies[(twice, "duplicate")]
    assert f"#{filed[padang]}" in replies[(padang, "ack_new")]
    assert f"#{filed[padang]}" in replies[(officer, "officer_new")]
    assert padang.lstrip("+") not in replies[(officer, "officer_new")]  # masked toward agencies


def test_two_groups_of_the_same_new_reporters_in_opposite_orders(db: dict[str, str]) -> None:
    """Two workers at once, the same 30 first-time reporters: nothing falls back to one by one,
    nothing is lost or doubled, every tracking number is new."""
    senders = [f"+628129990{n:04d}" for n in range(30)]
    first = store_texts(
        [(s, f"Jalan rusak nomor {n} di Kota Padang") for n, s in enumerate(senders)], "a"
    )
    second = store_texts(
        [(s, f"Sampah nomor {n} di Kota Solo") for n, s in enumerate(senders)], "b"
    )
    start = threading.Barrier(2)
    failures: list[str] = []

    def work(ids: list[int]) -> None:
        start.wait()
        with patch.object(jobs.log, "warning", side_effect=lambda *a, **k: failures.append(a[0])):
            jobs.process_inbound(ids)

    threads = [threading.Thread(target=work, args=(ids,)) for ids in (first, second[::-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert count(Complaint) == 60
    assert count(OutboundMessage, OutboundMessage.template == "ack_new") == 60
    with session_scope() as session:
        numbers = list(session.scalars(select(Complaint.tracking_number)))
    assert len(set(numbers)) == 60


def test_a_job_takes_waiting_messages_into_its_group(db: dict[str, str]) -> None:
    """A backlog (the jobs of other messages still queued) is drained by whichever job runs
    first; the other jobs then find nothing to do and nothing is filed twice."""
    ids = list(_store().values())
    jobs.process_inbound(ids[:1])
    assert count(InboundMessage, InboundMessage.state == "processed") == len(ids)
    assert count(Complaint) == len(ids)
    jobs.process_inbound(ids[1:])
    assert count(Complaint) == len(ids)
    assert count(OutboundMessage, OutboundMessage.template == "ack_new") == len(ids)


def test_a_job_drains_a_backlog_of_several_groups(
    db: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What models.queues.wake_inbound relies on: a job that starts takes everything waiting."""
    # Within its time: on CI's loaded machine 250 texts took more than DRAIN_S (1 s), and the
    # job handed the last group on, as the next test expects it to.
    monkeypatch.setattr(jobs, "DRAIN_S", 60.0)
    backlog = [(f"+62812345{n:05d}", f"Jalan rusak nomor {n} di Kota Padang") for n in range(250)]
    ids = store_texts(backlog, "backlog")
    jobs.process_inbound(ids[:1])
    assert count(InboundMessage, InboundMessage.state == "processed") == 250
    assert count(OutboundMessage, OutboundMessage.template == "ack_new") == 250


def test_a_drain_past_its_time_hands_the_rest_to_a_new_job(
    db: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from models.queues import INBOUND_QUEUE, get_queue

    backlog = [
        (f"+62812346{n:05d}", f"Sampah menumpuk nomor {n} di Kota Padang") for n in range(250)
    ]
    ids = store_texts(backlog, "slow")
    monkeypatch.setattr(jobs, "DRAIN_S", 0.0)  # every job is past its time after one group
    jobs.process_inbound(ids[:1])
    handled = [count(InboundMessage, InboundMessage.state == "processed")]
    queue = get_queue(INBOUND_QUEUE)
    while queue.count and len(handled) < 6:
        (follow_up,) = queue.jobs  # one job hands on to exactly one
        queue.remove(follow_up)  # as a worker takes it
        follow_up.perform()
        handled.append(count(InboundMessage, InboundMessage.state == "processed"))
    # The job that found the last 50 could not know nothing followed; the next one found nothing.
    assert handled == [100, 200, 250, 250]
    assert queue.count == 0


def test_a_job_goes_on_with_what_arrived_while_it_filed(
    db: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A busy link stores the next messages while a group is filed: the same job takes them,
    without an RQ job a group (RQ spends milliseconds of CPU on each)."""
    from models.queues import INBOUND_QUEUE, get_queue

    first = store_texts(list(TEXTS.items()), "first")
    later = [(f"+62812347{n:05d}", f"Jalan berlubang nomor {n} di Kota Padang") for n in range(3)]
    process_group = jobs._process_group
    arrived: list[int] = []

    def file_and_receive(ids: list[int] | None, claimed: list[int]) -> None:
        process_group(ids, claimed)
        if not arrived:  # the link stored more while the first group was filed
            arrived.extend(store_texts(later, "later"))

    monkeypatch.setattr(jobs, "_process_group", file_and_receive)
    jobs.process_inbound(first[:1])
    assert count(InboundMessage, InboundMessage.state == "processed") == len(first) + len(later)
    assert count(OutboundMessage, OutboundMessage.template == "ack_new") == 6
    assert get_queue(INBOUND_QUEUE).count == 0  # and nothing left for another job


def test_a_waiting_job_is_not_joined_by_another(db: dict[str, str]) -> None:
    """A busy link stores a few messages per commit: one job per free worker, not per commit."""
    from models.queues import INBOUND_QUEUE, get_queue, wake_inbound

    ids = store_texts(list(TEXTS.items()), "wake")
    for inbound_id in ids:
        wake_inbound([inbound_id])
    queue = get_queue(INBOUND_QUEUE)
    (waiting,) = queue.jobs
    queue.remove(waiting)  # as a worker takes it
    waiting.perform()
    assert count(InboundMessage, InboundMessage.state == "processed") == len(TEXTS)
    wake_inbound([ids[0]])  # nobody is waiting now: a new job
    assert queue.count == 1


def test_a_group_asks_about_officers_only_when_the_directory_lists_some(
    db: dict[str, str],
) -> None:
    """What a group needs of the directory is kept until its version moves: a group of
    citizens whose agencies have no officers reads no officer and no agency, and an officer
    added through the admin is known, and told of a new complaint, from the next group on."""
    from models.officers import roster

    jobs.process_inbound(_store_some("before", 3))  # the roster of this version read once
    with statements_sent() as sent:
        jobs.process_inbound(_store_some("again", 3))
    assert not [sql for sql, _ in sent if "FROM officers" in sql or "FROM agencies" in sql]
    with session_scope() as session:
        agency = router_for(session).route(TEXTS["+6281234560001"]).agency_code
        admin.add_officer(session, agency_code=agency, msisdn="+6281234569999")
    with statements_sent() as sent:
        jobs.process_inbound(_store_some("after", 3))
    assert [sql for sql, _ in sent if "FROM officers" in sql]
    assert count(OutboundMessage, OutboundMessage.recipient == "+6281234569999") >= 1
    with session_scope() as session:
        assert "+6281234569999" in roster(session).numbers


def _store_some(link: str, n: int) -> list[int]:
    """`n` citizens' texts, the first of TEXTS each time, from new numbers."""
    first = {"before": 1, "again": 2, "after": 3}[link]
    texts = [(f"+6281234{first}{i:05d}", TEXTS["+6281234560001"]) for i in range(n)]
    return store_texts(texts, link)


def test_a_message_another_worker_takes_meanwhile_is_not_marked_failed(db: dict[str, str]) -> None:
    """Its one-by-one retry failed, and before it was marked failed another worker claimed and
    filed it: a read-then-write turned that `processed` into `failed`, with a "temporary error"
    SMS for a filed complaint, and a second complaint when an operator retried it."""
    (inbound_id,) = store_texts([("+6281234560009", "Jalan rusak di Kota Padang")], "race")
    with session_scope() as other:  # the other worker's group, not committed yet
        assert [m.id for m in jobs.claim_oldest(other, 10)] == [inbound_id]
        failing = threading.Thread(
            target=jobs._mark_failed, args=(inbound_id, RuntimeError("a bug"))
        )
        failing.start()
        failing.join(1.0)  # it waits for the other's commit
    failing.join(30)
    assert not failing.is_alive()
    assert count(InboundMessage, InboundMessage.state == "processed") == 1
    assert outbox_rows() == []  # no "temporary error" for a message that was handled
