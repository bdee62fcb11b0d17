"""Replies survive carrier hiccups: retried with backoff, sent once, failures visible."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from types import SimpleNamespace

import pytest

from app import create_app
from models.outbox import OutboxStatus

from channels import complaint_by_text, outbox_rows, partner_get, send_through, sending_row
from recorder import Recorder
from support import wait_for

CITIZEN = "081234567810"


@pytest.fixture()
def client(db: dict[str, str], worker: subprocess.Popen[bytes]):  # type: ignore[no-untyped-def]
    return create_app().test_client()


def _final_row():  # type: ignore[no-untyped-def]
    def final():  # type: ignore[no-untyped-def]
        rows = outbox_rows()
        done = rows and rows[0].status in (OutboxStatus.SENT, OutboxStatus.FAILED)
        return rows[0] if done else None

    return wait_for(final, timeout_s=30)


def test_temporary_errors_are_retried_with_backoff_and_sent_once(client, sent: Recorder) -> None:
    sent.fail_with.extend([500, 503])
    partner_get(client, "Jalan rusak di Kota Padang", CITIZEN)
    row = _final_row()
    assert row.status == OutboxStatus.SENT
    assert row.attempts == 3
    requests = sent.to("/cgi-bin/sendsms")
    assert len(requests) == 3  # two refused by the carrier, one accepted
    assert row.sent_at >= row.next_attempt_at  # the last try waited for its backoff


def test_backoff_grows_with_attempts_up_to_its_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Jitter over the upper half of base * 2^(attempts-1), never past the cap."""
    from models import outbox

    def jitter(pick: Callable[[float, float], float]) -> None:
        monkeypatch.setattr(outbox, "random", SimpleNamespace(uniform=pick))

    jitter(lambda low, high: high)  # the longest wait of each attempt
    longest = [outbox.backoff(n, base_s=5, cap_s=60) for n in range(1, 8)]
    assert longest == [5, 10, 20, 40, 60, 60, 60]
    assert outbox.backoff(40) == 3600  # the default cap: an hour
    jitter(lambda low, high: low)  # the shortest: half the longest
    shortest = [outbox.backoff(n, base_s=5, cap_s=60) for n in range(1, 8)]
    assert shortest == [2.5, 5, 10, 20, 30, 30, 30]
    monkeypatch.undo()
    for attempts in range(1, 10):
        longest = min(60, 5 * 2 ** (attempts - 1))
        for _ in range(50):
            assert longest / 2 <= outbox.backoff(attempts, base_s=5, cap_s=60) <= longest


def test_rows_failed_together_do_not_all_retry_in_the_same_second() -> None:
    """After a partner outage every row's first retry is spread out, not due at one instant."""
    from models import outbox

    first_retries = [outbox.backoff(1, base_s=5) for _ in range(200)]
    assert max(first_retries) - min(first_retries) > 1.5
    assert all(2.5 <= delay <= 5 for delay in first_retries)


def test_a_permanent_refusal_fails_visibly_without_retrying(client, sent: Recorder) -> None:
    sent.fail_with.append(400)
    partner_get(client, "Sampah menumpuk di Kota Medan", CITIZEN)
    row = _final_row()
    assert row.status == OutboxStatus.FAILED
    assert "refused with 400" in (row.last_error or "")
    assert len(sent.to("/cgi-bin/sendsms")) == 1


def test_giving_up_after_the_attempt_limit(client, sent: Recorder) -> None:
    sent.fail_with.extend([500, 500, 500, 500])
    partner_get(client, "Lampu jalan mati di Kota Solo", CITIZEN)
    row = _final_row()
    assert row.status == OutboxStatus.FAILED
    assert "gave up after 3 attempts" in (row.last_error or "")
    assert complaint_by_text("Lampu jalan mati di Kota Solo")  # the complaint itself is safe


def test_an_operator_can_retry_a_failed_row_and_it_is_sent(client, sent: Recorder) -> None:
    from models.db import session_scope
    from models.outbox import requeue_failed

    sent.fail_with.append(400)
    partner_get(client, "Jalan amblas di Kota Bogor", CITIZEN)
    row = _final_row()
    assert row.status == OutboxStatus.FAILED
    with session_scope() as session:
        assert requeue_failed(session, row.id)
    wait_for(lambda: outbox_rows()[0].status == OutboxStatus.SENT)
    with session_scope() as session:
        assert not requeue_failed(session, row.id)  # only failed rows
    assert len(sent.to("/cgi-bin/sendsms")) == 2


def test_a_late_outcome_does_not_undo_the_sweeps_failure(db: dict[str, str]) -> None:
    """The sweep failed a send whose lease expired ("may or may not have it"); the send's own
    outcome arrives after: a retry or a failure leaves it failed with the sweep's reason, not
    queued to be sent a second time; the carrier's acceptance makes it sent, with its id, so
    that nobody sends it again by hand and its receipt finds it."""
    from sqlalchemy import update

    from models.db import session_scope
    from models.outbox import OutboundMessage, mark_failed, mark_retry, mark_sent

    outbound_id = sending_row("late", channel="twilio", link="twilio")
    swept = "interrupted while sending; the carrier may or may not have it"
    with session_scope() as session:  # what the sweep writes
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == outbound_id)
            .values(status=OutboxStatus.FAILED, lease_until=None, last_error=swept)
        )
    with session_scope() as session:
        assert mark_retry(session, outbound_id, "twilio 503: try later") is None
    with session_scope() as session:
        mark_failed(session, outbound_id, "twilio 400 code 21211: invalid number")
    row = outbox_rows()[0]
    assert (row.status, row.last_error, row.external_ids) == (OutboxStatus.FAILED, swept, "[]")
    with session_scope() as session:
        mark_sent(session, outbound_id, ["SM" + "2" * 32])
    row = outbox_rows()[0]
    assert (row.status, row.last_error) == (OutboxStatus.SENT, None)
    assert row.external_ids == f'["SM{"2" * 32}"]'


def test_rq_killing_a_send_job_does_not_queue_its_row_again(
    db: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """RQ's job timeout strikes mid-send: the row stays `sending` for the sweep to fail
    visibly, instead of being retried as if the carrier surely had nothing."""
    from rq.timeouts import JobTimeoutException

    class Killed:
        def send(self, claim: object) -> list[str]:
            raise JobTimeoutException("Task exceeded maximum timeout value (180 seconds)")

    with pytest.raises(JobTimeoutException):
        send_through(Killed(), monkeypatch, channel="twilio", link="twilio", recipient=CITIZEN)
    assert [row.status for row in outbox_rows()] == [OutboxStatus.SENDING]


def test_a_backlog_is_sent_by_jobs_rq_lets_finish(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sweep wakes a backlog at once: each send job holds few enough rows to send them
    all, every one waiting out its carrier's timeouts, before RQ's job_timeout kills it."""
    from models import queues

    jobs: list[tuple[list[int], int]] = []
    monkeypatch.setattr(
        queues, "enqueue", lambda queue, func, ids, job_timeout=180: jobs.append((ids, job_timeout))
    )
    queues.wake_outbox([(n, "http", "telco-a") for n in range(1, 201)])
    assert sorted(n for ids, _ in jobs for n in ids) == list(range(1, 201))
    worst_send_s = 2 * queues.SEND_TIMEOUT_S  # connect, then wait for the answer
    assert all(len(ids) * worst_send_s < timeout for ids, timeout in jobs)
