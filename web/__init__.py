"""HTTP surfaces for people and operators: health, simulator, admin API, Open311, metrics."""

from __future__ import annotations

from flask import Blueprint


def blueprints() -> list[Blueprint]:
    """Every blueprint of web/, registered by app.create_app."""
    from web.api import bp as api_bp
    from web.health import bp as health_bp
    from web.metrics import bp as metrics_bp
    from web.open311 import bp as open311_bp
    from web.simulator import bp as simulator_bp

    return [health_bp, simulator_bp, api_bp, open311_bp, metrics_bp]
