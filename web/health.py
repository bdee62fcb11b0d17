"""GET /healthz: is every dependency answering? 503 when the database or Redis is not.

Each telco link's last reported state is in the answer, but a down link is never a 503:
a telco outage must not take web nodes out of the load balancer.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response

from models.db import ping
from models.queues import get_redis, link_states

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[dict[str, object], int] | Response:
    checks: dict[str, object] = {}
    healthy = True
    try:
        ping()
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        checks["database"] = f"down: {type(exc).__name__}"
        healthy = False
    try:
        get_redis().ping()
        checks["redis"] = "ok"
        checks["links"] = link_states()
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        checks["redis"] = f"down: {type(exc).__name__}"
        healthy = False
    checks["status"] = "ok" if healthy else "degraded"
    if not healthy:
        log.warning("healthz degraded %s", checks)
    return checks, 200 if healthy else 503
