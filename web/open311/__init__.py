"""Open311 GeoReport v2 (JSON) for civic-tech tools: services, requests, tokens.

Public reads show neither RAHASIA complaints nor anything about reporters;
writes need an api_key from OPEN311_KEYS. Errors follow the spec: a JSON
list of {code, description}.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from typing import Any

from flask import Blueprint
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from config.settings import CONFIG_DIR
from web.inputs import refuse_nul_bytes

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
bp.before_request(refuse_nul_bytes)


def error(code: int, description: str) -> ResponseReturnValue:
    return [{"code": code, "description": description}], code


@bp.errorhandler(HTTPException)
def _spec_error(exc: HTTPException) -> ResponseReturnValue:
    return error(exc.code or 500, exc.description or exc.name)


@lru_cache(maxsize=1)
def services() -> dict[str, dict[str, Any]]:
    """service_code -> service, from config/open311.toml (one per routing sector)."""
    with (CONFIG_DIR / "open311.toml").open("rb") as handle:
        data = tomllib.load(handle)["services"]
    return {
        code: {
            "service_code": code,
            "service_name": spec["name"],
            "description": spec["name"],
            "metadata": False,
            "type": "realtime",
            "keywords": code.lower().replace("_", " "),
            "group": spec["group"],
        }
        for code, spec in data.items()
    }


@bp.get("/services.json")
def list_services() -> ResponseReturnValue:
    return list(services().values())


def _register_routes() -> None:
    from web.open311 import read, write  # noqa: F401


_register_routes()
