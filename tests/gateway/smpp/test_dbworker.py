"""The link's database thread: what stands alone commits by itself, the rest in a transaction."""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from gateway.smpp.config import LinkConfig
from gateway.smpp.dbworker import ESME_ROK, ESME_RX_T_APPN, DbWorker
from gateway.smpp.mo import MoMessage
from gateway.smpp.outcomes import Delivered
from gateway.smpp.receipts import Receipt
from models.db import session_scope
from models.inbound import InboundMessage
from models.outbox import record_receipts

from support import wait_for


@pytest.fixture()
def thread(db: dict[str, str]) -> Iterator[tuple[DbWorker, list[int]]]:
    """A started database thread of a link of its own, with the ids it woke the workers for."""
    link = LinkConfig(name=f"t{uuid.uuid4().hex[:8]}", host="-", port=0, system_id="-", password="")
    woken: list[int] = []
    stop = threading.Event()
    worker = DbWorker(link, woken.extend, stop)
    worker.start()
    yield worker, woken
    stop.set()
    worker.join(5)


def _mo(text: str) -> MoMessage:
    return MoMessage("6281234567890", "1708", 0, text.encode(), None)


def _answered(worker: DbWorker, *contents: MoMessage | Receipt) -> list[int]:
    """Put `contents` in as one batch; the command_status each was answered, in order."""
    answers: list[queue.Queue[int]] = [queue.Queue() for _ in contents]
    with worker.queue.mutex:  # one batch: the thread takes them together
        for content, answer in zip(contents, answers, strict=True):
            worker.queue.queue.append(Delivered(content, answer.put))
        worker.queue.not_empty.notify()
    return [answer.get(timeout=10) for answer in answers]


def _stored(worker: DbWorker) -> int:
    with session_scope() as session:
        count = select(func.count()).where(InboundMessage.link == worker.link.name)
        return session.scalar(count) or 0


def test_mos_committed_before_a_receipt_transaction_fails_still_reach_the_workers(
    thread: tuple[DbWorker, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One-part MOs commit by themselves; when the receipts' transaction of the same batch then
    finds the database gone, the SMSC is asked for all of it again, but the MOs already
    stored are handled now, and their re-delivery stores nothing new."""
    worker, woken = thread
    down = OperationalError("SELECT", {}, Exception("connection refused"))
    failed: list[bool] = []

    def first_batch_down(*args: Any, **kwargs: Any) -> list[bool]:
        if kwargs["receipts"] and not failed:
            failed.append(True)
            raise down
        return record_receipts(*args, **kwargs)

    monkeypatch.setattr("gateway.smpp.dbworker.record_receipts", first_batch_down)
    receipt = Receipt("4f2a01", "delivered", None)
    mo = _mo("Jalan rusak di depan pasar")

    assert _answered(worker, mo, receipt) == [ESME_RX_T_APPN, ESME_RX_T_APPN]
    wait_for(lambda: len(woken) == 1, timeout_s=5)
    assert _stored(worker) == 1

    assert _answered(worker, mo, receipt) == [ESME_ROK, ESME_ROK]
    assert _stored(worker) == 1
    assert len(woken) == 1
