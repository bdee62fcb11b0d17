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
