"""HTTP surfaces for people and operators: health, simulator, admin API, Open311, metrics."""

from __future__ import annotations

from flask import Blueprint


def blueprints() -> list[Blueprint]:
    """Every blueprint of web/, registered by app.create_app."""
    from web.health import bp as health_bp

    return [health_bp]
