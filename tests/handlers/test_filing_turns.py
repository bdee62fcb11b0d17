"""Workers take turns filing partial groups, and file full groups side by side (PostgreSQL)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

import models.db
from handlers import jobs
from models import directory

from support import migrated_pg_database

WAIT_S = 10.0


@pytest.fixture()
def engine() -> Iterator[Engine]:
    with migrated_pg_database() as engine:
        yield engine


def arrive(engine: Engine, count: int) -> None:
    """`count` more messages stored and committed, as a link or web process does."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO inbound_messages (channel, link, external_id, sender, recipient, text,"
                " parts, incomplete, received_at, state) SELECT 'smpp', 'telco',"
                " gen_random_uuid()::text, '+62812' || g, '1708', 'jalan rusak', 1, false, now(),"
                " 'received' FROM generate_series(1, CAST(:count AS int)) g"
            ),
            {"count": count},
        )


class Claimer(threading.Thread):
    """A second worker's claim, in its own transaction (left open, like a worker filing)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(daemon=True)
        self.session = Session(engine)
        self.claimed: list[int] = []

    def run(self) -> None:
        self.claimed = [message.id for message in jobs.claim_group(self.session)]


def test_a_worker_waits_for_the_filing_one_and_takes_what_arrived_meanwhile(
    engine: Engine,
) -> None:
    second = waiting_for_a_filer(engine, filed=3, before=2, meanwhile=4)
    assert len(second.claimed) == 6  # the two it found and the four that came while it waited
    second.session.close()


def waiting_for_a_filer(engine: Engine, filed: int, before: int, meanwhile: int) -> Claimer:
    """A second worker's claim_group while a first one files a partial group of `filed`: it
    waits for that commit; `before` arrive before it claims, `meanwhile` while it waits."""
    arrive(engine, filed)
    with Session(engine) as filer:
        assert len(jobs.claim_group(filer)) == filed
        arrive(engine, before)
        second = Claimer(engine)
        second.start()
        second.join(0.5)
        assert second.is_alive(), "claimed beside a partial group being filed"
        arrive(engine, meanwhile)
        filer.commit()
    second.join(WAIT_S)
    assert not second.is_alive()
    return second


def test_a_full_group_is_claimed_beside_the_filing_one(engine: Engine) -> None:
    arrive(engine, 3)
    with Session(engine) as filer:
        jobs.claim_group(filer)
        arrive(engine, jobs.GROUP + 5)
        second = Claimer(engine)
        second.start()
        second.join(WAIT_S)
        waited = second.is_alive()
        filer.commit()
    second.join(WAIT_S)
    second.session.close()
    assert not waited, "a backlog of a full group waited for the other worker"
    assert len(second.claimed) == jobs.GROUP


def test_a_worker_whose_first_claim_found_nothing_reads_the_directory_version_with_its_next(
    engine: Engine,
) -> None:
    """Everything waiting was the filing worker's: the claim it makes after its turn also
    reads the directory's version (what its group's routing checks), a round trip less."""
    second = waiting_for_a_filer(engine, filed=3, before=0, meanwhile=2)
    assert len(second.claimed) == 2
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert directory.agencies_version(second.session) == 0  # the directory never changed
    finally:
        event.remove(engine, "before_cursor_execute", record)
        second.session.close()
    assert sent == []


def test_a_filer_that_never_commits_does_not_stop_the_other_worker(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker hung while filing (stopped, stuck in a driver, its connection half-open) holds
    its turn until its transaction ends: the other one waits TURN_WAIT_S, then files its
    partial group beside it, and what it files is committed while the first still hangs."""
    monkeypatch.setattr(jobs, "TURN_WAIT_S", 0.5)
    arrive(engine, 3)
    with Session(engine) as hung:
        hung_ids = {message.id for message in jobs.claim_group(hung)}
        arrive(engine, 2)
        second = Claimer(engine)
        second.start()
        second.join(WAIT_S)
        assert not second.is_alive(), "waited for a filer that never commits"
        assert len(second.claimed) == 2 and not hung_ids & set(second.claimed)
        assert "filed beside it" in caplog.text
        second.session.commit()  # its group filed while the first one hangs
        second.session.close()
        with engine.connect() as conn:
            states = dict(conn.execute(text("SELECT id, state FROM inbound_messages")).all())
        assert {states[i] for i in second.claimed} == {"processed"}
        assert {states[i] for i in hung_ids} == {"received"}  # still the hung worker's


def test_the_group_of_a_filer_that_never_commits_is_filed_by_another_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its transaction idle past IDLE_IN_TRANSACTION_S, PostgreSQL ends it: the messages it
    held are waiting again, and the next claim takes them."""
    monkeypatch.setattr(models.db, "IDLE_IN_TRANSACTION_S", 1)
    with migrated_pg_database() as engine:
        arrive(engine, 3)
        hung = Session(engine)
        hung_ids = sorted(message.id for message in jobs.claim_group(hung))
        time.sleep(1.5)
        with Session(engine) as other:
            assert sorted(message.id for message in jobs.claim_group(other)) == hung_ids
            other.commit()
        with pytest.raises(DBAPIError, match="idle-in-transaction"):  # if the hung one wakes
            hung.execute(text("SELECT 1"))
        hung.close()
