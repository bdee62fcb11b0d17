"""The PostgreSQL engine: bulk statements reuse psycopg's conversion of their placeholders."""

from __future__ import annotations

import psycopg._queries as queries
from sqlalchemy import column, select, values

from models.db import BULK_PARAMS_CACHED, make_engine

from support import PG_SERVER_URL


def test_a_repeated_bulk_statement_is_converted_once_and_answers_correctly() -> None:
    engine = make_engine(PG_SERVER_URL)
    rows = [(n, f"row {n}") for n in range(400)]  # 800 parameters, 16 times psycopg's 50
    numbers = values(column("n"), column("label"), name="v").data(rows)
    stmt = select(numbers.c.n, numbers.c.label)
    try:
        with engine.connect() as conn:
            first = conn.execute(stmt).all()
            before = queries._query2pg.cache_info()
            again = conn.execute(stmt).all()
            after = queries._query2pg.cache_info()
    finally:
        engine.dispose()
    assert first == again == rows
    assert after.hits == before.hits + 1 and after.misses == before.misses
    assert queries.MAX_CACHED_STATEMENT_PARAMS == BULK_PARAMS_CACHED
