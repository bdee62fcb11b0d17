"""/healthz tells an operator which dependency is down."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import create_engine

import models.db
from app import create_app
from config.settings import get_settings
from models.queues import LINK_SILENT_S, LINK_STATE_KEY, get_redis

from support import free_port

BOUND = {"running": True, "bound": True, "sessions": {"trx": {"bound": True, "detail": "bound"}}}
DOWN = {
    "running": True,
    "bound": False,
    "sessions": {"trx": {"bound": False, "detail": "reconnecting"}},
}


def _report(name: str, state: dict[str, object], ago_s: float = 0.0) -> None:
    """What an SMPP process publishes about its link (every 10 s), `ago_s` seconds ago."""
    get_redis().hset(LINK_STATE_KEY, name, json.dumps({**state, "at": time.time() - ago_s}))


def _as_reported(links: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
    return {
        name: {k: v for k, v in s.items() if k not in ("at", "silent_s")}
        for name, s in links.items()
    }


def test_healthy_when_database_and_redis_answer(db: dict[str, str]) -> None:
    _report("tsel", BOUND)
    resp = create_app().test_client().get("/healthz")
    assert resp.status_code == 200
    assert resp.json["database"] == "ok"
    assert resp.json["redis"] == "ok"
    assert _as_reported(resp.json["links"]) == {"tsel": BOUND}


def test_a_link_nobody_runs_any_more_is_reported_down(db: dict[str, str]) -> None:
    """Its process killed: the last thing it said was "bound", and that is no longer true."""
    _report("tsel", BOUND, ago_s=LINK_SILENT_S + 5)
    links = create_app().test_client().get("/healthz").json["links"]
    assert links["tsel"]["running"] is False and links["tsel"]["bound"] is False
    assert links["tsel"]["silent_s"] >= LINK_SILENT_S


def test_a_down_telco_link_is_reported_but_keeps_the_web_node_in_service(
    db: dict[str, str],
) -> None:
    """A load balancer must not drop every web node because one telco is out."""
    _report("tsel", BOUND)
    _report("isat", DOWN)
    resp = create_app().test_client().get("/healthz")
    assert resp.status_code == 200
    assert resp.json["status"] == "ok"
    assert _as_reported(resp.json["links"]) == {"tsel": BOUND, "isat": DOWN}


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


def test_a_link_silent_for_a_day_leaves_the_report(db: dict[str, str]) -> None:
    """Taken out of SMPP_LINKS for good: the sweep forgets it, and alerts on it stop."""
    from models.sweep import FORGET_LINK_AFTER_S, sweep_messages

    _report("tsel", BOUND)
    _report("old", BOUND, ago_s=FORGET_LINK_AFTER_S + 5)
    _report("gone", BOUND, ago_s=LINK_SILENT_S + 5)  # down for a minute: still shown
    sweep_messages()
    links = create_app().test_client().get("/healthz").json["links"]
    assert sorted(links) == ["gone", "tsel"]
