"""The link's database thread: a batch of one statement commits by itself, any other once."""

from __future__ import annotations

import contextlib
import queue
import threading
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.smpp.config import LinkConfig
from gateway.smpp.dbworker import ESME_ROK, DbWorker
from gateway.smpp.mo import MoMessage
from gateway.smpp.outcomes import Delivered
from gateway.smpp.receipts import Receipt
from models.db import HeldConnection, session_scope
from models.inbound import InboundMessage

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


def test_a_batch_written_by_one_statement_opens_no_transaction(
    thread: tuple[DbWorker, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch of one-part MOs is one statement, committed by itself (on PostgreSQL without
    BEGIN and COMMIT round trips, models.db.HeldConnection); a batch that also holds a
    receipt is one transaction, committed once. Either way every MO is stored once and
    answered after it is committed, and the workers are woken for the new ones."""
    worker, woken = thread
    alone: list[int] = []  # batches run by statements that commit themselves
    session = HeldConnection.session

    def counted(held: HeldConnection) -> contextlib.AbstractContextManager[Session]:
        if held.autocommit:
            alone.append(1)
        return session(held)

    monkeypatch.setattr(HeldConnection, "session", counted)

    assert _answered(worker, _mo("Jalan rusak"), _mo("Lampu mati")) == [ESME_ROK, ESME_ROK]
    assert alone == [1]
    assert _stored(worker) == 2

    receipt = Receipt("4f2a01", "delivered", None)
    assert _answered(worker, _mo("Sampah"), receipt, _mo("Jalan rusak")) == [ESME_ROK] * 3
    assert alone == [1]  # a transaction this time
    assert _stored(worker) == 3
    wait_for(lambda: len(woken) == 3, timeout_s=5)
