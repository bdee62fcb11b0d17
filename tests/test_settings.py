"""Settings read from the environment as operators write them."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from config.settings import load_settings
from models.db import make_engine

from support import PG_SERVER_URL


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_a_plain_postgresql_url_connects_with_the_installed_driver(scheme: str) -> None:
    """Hosting providers hand out postgres://...; psycopg2 is not installed, psycopg 3 is."""
    server = make_url(PG_SERVER_URL)
    url = server.set(drivername="postgresql").render_as_string(hide_password=False)
    settings = load_settings({"DATABASE_URL": url.replace("postgresql://", f"{scheme}://", 1)})
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_other_urls_are_kept_as_written() -> None:
    for url in ["sqlite:///var/x.db", "postgresql+psycopg://u@h/db"]:
        assert load_settings({"DATABASE_URL": url}).database_url == url
