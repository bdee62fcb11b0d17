"""Tracking numbers stay unique and are never reused, under concurrent writers on PostgreSQL."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import models.all  # noqa: F401  - every table, for mapper configuration in worker processes
from models.complaints import Complaint
from models.db import make_engine
from models.reporters import Reporter
from models.tracking import next_tracking_number

from support import migrated_pg_database

WRITERS = 6
PER_WRITER = 40


@pytest.fixture()
def pg_url() -> Iterator[str]:
    with migrated_pg_database() as engine:
        with Session(engine) as session:
            session.add(Reporter(msisdn="+628113643123", masked="62811364xxxx"))
            session.commit()
        yield engine.url.render_as_string(hide_password=False)


def _file_complaints(url: str, count: int, rollback_every: int) -> list[int]:
    """One writer process: file complaints, rolling some transactions back."""
    engine: Engine = make_engine(url)
    kept: list[int] = []
    with Session(engine) as session:
        reporter_id = session.scalar(select(Reporter.id))
        for i in range(count):
            number = next_tracking_number(session)
            session.add(
                Complaint(
                    tracking_number=number,
                    reporter_id=reporter_id,
                    reply_address="+628113643123",
                    text=f"laporan {i}",
                    text_hash=str(i),
                    channel="test",
                    link="test",
                    sector="LAINNYA",
                )
            )
            if i % rollback_every == 0:
                session.rollback()
            else:
                session.commit()
                kept.append(number)
    engine.dispose()
    return kept


@pytest.mark.same_in_both_passes
def test_concurrent_writers_get_unique_seven_digit_numbers_never_reused(pg_url: str) -> None:
    with multiprocessing.get_context("spawn").Pool(WRITERS) as pool:
        results = pool.starmap(_file_complaints, [(pg_url, PER_WRITER, 7)] * WRITERS)
    handed_out = [n for numbers in results for n in numbers]
    assert len(handed_out) == len(set(handed_out))

    engine = make_engine(pg_url)
    with Session(engine) as session:
        stored = list(session.scalars(select(Complaint.tracking_number)))
        after = next_tracking_number(session)
    engine.dispose()
    assert sorted(stored) == sorted(handed_out)
    assert min(stored) >= 1000001
    # Rolled-back numbers are skipped, not handed out again.
    assert after > max(stored)
    assert after - 1000001 >= WRITERS * PER_WRITER
