"""/healthz tells an operator which dependency is down."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine

import models.db
from app import create_app
from config.settings import get_settings
from models.queues import LINK_STATE_KEY, get_redis

from support import free_port

BOUND = {"bound": True, "sessions": {"trx": {"bound": True, "detail": "bound"}}, "at": 1.0}
DOWN = {"bound": False, "sessions": {"trx": {"bound": False, "detail": "reconnecting"}}, "at": 1.0}


def test_healthy_when_database_and_redis_answer(db: dict[str, str]) -> None:
    get_redis().hset(LINK_STATE_KEY, "tsel", json.dumps(BOUND))  # as an SMPP process does
    resp = create_app().test_client().get("/healthz")
    assert resp.status_code == 200
    assert resp.json["database"] == "ok"
    assert resp.json["redis"] == "ok"
    assert resp.json["links"] == {"tsel": BOUND}


def test_a_down_telco_link_is_reported_but_keeps_the_web_node_in_service(
    db: dict[str, str],
) -> None:
    """A load balancer must not drop every web node because one telco is out."""
    get_redis().hset(LINK_STATE_KEY, "tsel", json.dumps(BOUND))
    get_redis().hset(LINK_STATE_KEY, "isat", json.dumps(DOWN))
    resp = create_app().test_client().get("/healthz")
    assert resp.status_code == 200
    assert resp.json["status"] == "ok"
    assert resp.json["links"] == {"tsel": BOUND, "isat": DOWN}


def test_503_and_names_the_database_when_it_is_down(
    db: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    monkeypatch.setattr(models.db, "get_engine", lambda: dead)
    resp = create_app().test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.json["database"].startswith("down")
    assert resp.json["redis"] == "ok"


def test_503_and_names_redis_when_it_is_down(
    db: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")  # nobody listens
    get_settings.cache_clear()
    get_redis.cache_clear()
    try:
        resp = create_app().test_client().get("/healthz")
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        get_redis.cache_clear()
    assert resp.status_code == 503
    assert resp.json["redis"].startswith("down")
    assert resp.json["database"] == "ok"
    assert resp.json["status"] == "degraded"
    assert get_redis().ping()  # the test's own Redis again
