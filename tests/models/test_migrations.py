"""The schema migrates up and down on both databases the product supports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text

from models.all import metadata
from models.db import make_engine
from models.migrate import downgrade, upgrade

from support import create_pg_database, drop_pg_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
        yield engine
        engine.dispose()
    else:
        url = create_pg_database()
        engine = make_engine(url)
        yield engine
        engine.dispose()
        drop_pg_database(url)


def test_upgrade_creates_every_table_of_the_model_and_downgrade_removes_them(
    empty_engine: Engine,
) -> None:
    upgrade(engine=empty_engine)
    tables = set(inspect(empty_engine).get_table_names())
    assert set(metadata.tables) <= tables

    downgrade(engine=empty_engine)
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}

    upgrade(engine=empty_engine)  # and up again: the downgrade left nothing behind
    assert set(metadata.tables) <= set(inspect(empty_engine).get_table_names())


def test_migrated_columns_match_the_model(empty_engine: Engine) -> None:
    """A model change without a migration would make production differ from tests."""
    upgrade(engine=empty_engine)
    inspector = inspect(empty_engine)
    for name, table in metadata.tables.items():
        migrated = {c["name"] for c in inspector.get_columns(name)}
        assert migrated == set(table.columns.keys()), name


def test_migrated_indexes_match_the_model(empty_engine: Engine) -> None:
    """The claims rely on partial indexes: a migration that missed one would slow them all."""
    upgrade(engine=empty_engine)
    inspector = inspect(empty_engine)
    for name, table in metadata.tables.items():
        migrated = {index["name"] for index in inspector.get_indexes(name)}
        modelled = {index.name for index in table.indexes}
        assert modelled <= migrated, name
        assert not {i for i in migrated - modelled if i.startswith("ix_")}, name


def test_first_tracking_number_has_seven_digits(empty_engine: Engine) -> None:
    from sqlalchemy.orm import Session

    from models.tracking import next_tracking_number

    upgrade(engine=empty_engine)
    with Session(empty_engine) as session:
        first = next_tracking_number(session)
        second = next_tracking_number(session)
        session.commit()
    assert first == 1000001
    assert second == first + 1
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM regions")).scalar() == 0


def test_a_complaint_inserted_without_a_number_draws_the_next_one(empty_engine: Engine) -> None:
    """What a worker's group relies on (models.tracking.drawn_in_insert): on PostgreSQL the
    INSERT draws each number from the sequence next_tracking_number uses; SQLite's rows get
    theirs from the counter before the INSERT."""
    from sqlalchemy import insert
    from sqlalchemy.orm import Session

    from models.complaints import Complaint
    from models.reporters import Reporter
    from models.tracking import drawn_in_insert, next_tracking_number

    upgrade(engine=empty_engine)
    with Session(empty_engine) as session:
        reporter = Reporter(msisdn="+628113643123", masked="62811364xxxx")
        session.add(reporter)
        session.flush()
        first = next_tracking_number(session)
        drawn = drawn_in_insert(session, 2)
        row = {
            "reporter_id": reporter.id,
            "reply_address": reporter.msisdn,
            "text": "jalan rusak",
            "channel": "smpp",
            "link": "telco",
            "sector": "LAINNYA",
        }
        numbers = [
            session.execute(
                insert(Complaint.__table__).returning(Complaint.tracking_number),
                {**row, "text_hash": str(n), **({"tracking_number": drawn[n]} if drawn else {})},
            ).scalar_one()
            for n in range(2)
        ]
        after = next_tracking_number(session)
        session.commit()
    assert drawn is None if empty_engine.dialect.name == "postgresql" else drawn == numbers
    assert numbers == [first + 1, first + 2]
    assert after == first + 3
