"""/healthz tells an operator which dependency is down."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine

import models.db
from app import create_app


def test_healthy_when_database_and_redis_answer(db: dict[str, str]) -> None:
    resp = create_app().test_client().get("/healthz")
    assert resp.status_code == 200
    assert resp.json["database"] == "ok"
    assert resp.json["redis"] == "ok"


def test_503_and_names_the_database_when_it_is_down(
    db: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    monkeypatch.setattr(models.db, "get_engine", lambda: dead)
    resp = create_app().test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.json["database"].startswith("down")
    assert resp.json["redis"] == "ok"
