"""Run Alembic from code: `python app.py migrate` and start-up use this."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from config.settings import ROOT
from models.db import get_engine


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    return cfg


def upgrade(revision: str = "head", engine: Engine | None = None) -> None:
    """Each migration commits on its own (migrations/env.py): one that builds an index
    CONCURRENTLY must run outside a transaction, and commits those before it."""
    cfg = alembic_config()
    with (engine or get_engine()).connect() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def downgrade(revision: str = "base", engine: Engine | None = None) -> None:
    cfg = alembic_config()
    with (engine or get_engine()).connect() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)
