"""/healthz tells an operator which dependency is down."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import create_engine

import models.db
from app import create_app
from config.settings import get_settings
from models.queues import LINK_SILENT_S, LINK_STATE_KEY, get_redis, report_link

from support import free_port

BOUND = {"running": True, "bound": True, "sessions": {"trx": {"bound": True, "detail": "bound"}}}
DOWN = {
    "running": True,
    "bound": False,
    "sessions": {"trx": {"bound": False, "detail": "reconnecting"}},
}


def _report(
    name: str, state: dict[str, object], ago_s: float = 0.0, process: str = "gw1:4242:0a1b2c"
) -> None:
    """What an SMPP process publishes about its link (every 10 s), `ago_s` seconds ago."""
    report_link(get_redis(), name, process, {**state, "at": time.time() - ago_s})


def _as_reported(links: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
    return {
        name: {k: v for k, v in s.items() if k not in ("at", "silent_s", "processes")}
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
    _report("tsel", BOUND, ago_s=FORGET_LINK_AFTER_S + 5, process="gw1:17:before-the-restart")
    _report("old", BOUND, ago_s=FORGET_LINK_AFTER_S + 5)
    _report("gone", BOUND, ago_s=LINK_SILENT_S + 5)  # down for a minute: still shown
    get_redis().hset(  # as a link reported before reports were per process
        LINK_STATE_KEY, "older", json.dumps({**BOUND, "at": time.time() - FORGET_LINK_AFTER_S - 5})
    )
    sweep_messages()
    links = create_app().test_client().get("/healthz").json["links"]
    assert sorted(links) == ["gone", "tsel"]
    assert list(links["tsel"]["processes"]) == ["gw1:4242:0a1b2c"]


def test_a_link_two_processes_run_is_up_while_one_is(db: dict[str, str]) -> None:
    """Scale-out, or a deploy that starts the new process first: one process stopping or
    reconnecting does not show the link down while the other is bound."""
    stopped = {**BOUND, "running": False, "bound": False}
    _report("tsel", BOUND, process="gw1:100:aa")
    _report("tsel", DOWN, process="gw2:200:bb")  # refused: the telco allows one bind
    _report("isat", stopped, process="gw1:100:aa")  # the old process of a deploy, stopped
    _report("isat", BOUND, ago_s=3, process="gw2:200:bb")
    _report("xl", stopped, process="gw1:100:aa")
    _report("xl", DOWN, process="gw2:200:bb")
    links = create_app().test_client().get("/healthz").json["links"]
    assert _as_reported(links) == {"tsel": BOUND, "isat": BOUND, "xl": DOWN}
    assert links["tsel"]["processes"]["gw2:200:bb"]["bound"] is False
    assert sorted(links["isat"]["processes"]) == ["gw1:100:aa", "gw2:200:bb"]
    metrics = create_app().test_client().get("/metrics").text
    assert 'lapor_link_up{link="tsel"} 1.0' in metrics
    assert 'lapor_link_up{link="isat"} 1.0' in metrics
    assert 'lapor_link_up{link="xl"} 0.0' in metrics
