"""Replies survive carrier hiccups: retried with backoff, sent once, failures visible."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from types import SimpleNamespace

import pytest

from app import create_app
from models.outbox import OutboxStatus

from channels import complaint_by_text, outbox_rows, partner_get
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
    """Full jitter between the base and base * 2^(attempts-1), never past the cap."""
    from models import outbox

    def jitter(pick: Callable[[float, float], float]) -> None:
        monkeypatch.setattr(outbox, "random", SimpleNamespace(uniform=pick))

    jitter(lambda low, high: high)  # the longest wait of each attempt
    longest = [outbox.backoff(n, base_s=5, cap_s=60) for n in range(1, 8)]
    assert longest == [5, 10, 20, 40, 60, 60, 60]
    assert outbox.backoff(40) == 3600  # the default cap: an hour
    jitter(lambda low, high: low)  # the shortest: never below the base
    assert {outbox.backoff(n, base_s=5, cap_s=60) for n in range(1, 8)} == {5}
    monkeypatch.undo()
    for attempts in range(1, 10):
        for _ in range(50):
            assert (
                5
                <= outbox.backoff(attempts, base_s=5, cap_s=60)
                <= min(60, 5 * 2 ** (attempts - 1))
            )


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
