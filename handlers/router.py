"""The router this process decides with: the routing engine on the database's agencies.

routing/ is pure: its region index, rules and sector model are built once
per process (routing.engine.get_router, about a second) and it is handed the
agencies as plain values. They come from the agency table (seeded from the
generated registry, then changed by administrators with `python app.py
agency ...` or POST /api/agencies), read at start-up and read again only when
the table's version moved: models.admin bumps it in the same transaction as
every change, and each decision first reads it (one primary-key lookup). So a
change routes the next complaint in every running process, without a
restart; an edit made by hand in SQL is seen after a restart.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from config.settings import get_settings
from models.admin import routing_agencies
from models.db import get_engine, session_scope
from models.directory import agencies_version
from routing.engine import Router, get_router

log = logging.getLogger(__name__)

_lock = threading.Lock()
_built: tuple[int, Router] | None = None  # (agency table version, the router on its agencies)


def router_for(session: Session) -> Router:
    """The router on the agencies `session` sees, rebuilt first if their version moved."""
    global _built
    version = agencies_version(session)
    built = _built
    if built is not None and built[0] == version:
        return built[1]
    with _lock:
        if _built is None or _built[0] != version:
            previous = _built[1] if _built else get_router()
            _built = (version, _build(session, previous))
        return _built[1]


def _build(session: Session, previous: Router) -> Router:
    agencies = routing_agencies(session)
    try:
        router = get_router().with_agencies(agencies)
    except ValueError as exc:  # an empty table, or national triage deactivated
        log.error("agency table not usable for routing (%s); keeping the agencies before", exc)
        return previous
    log.info("routing on %d active agencies from the database", len(agencies))
    return router


def warm_up() -> Router:
    """Build the router at start-up (before gunicorn --preload forks), not on a message.

    Without a readable database (not migrated yet, or down) the generated
    registry stands in and the agency table is read on the first decision.
    """
    url = make_url(get_settings().database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return get_router()  # not created yet: opening it would leave an empty file behind
    try:
        with session_scope() as session:
            return router_for(session)
    except SQLAlchemyError as exc:
        log.warning("agencies not readable at start-up, read on the first decision: %s", exc)
        return get_router()
    finally:
        get_engine().dispose()  # forked web workers must not share this connection
