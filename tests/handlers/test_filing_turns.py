"""Workers take turns filing partial groups, and file full groups side by side (PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

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
