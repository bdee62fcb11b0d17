"""The administrator's JSON API under /api/, behind the bearer token ADMIN_TOKEN.

Without ADMIN_TOKEN configured every call is refused (503): an unset token
must never mean an open API. Errors are JSON ({"error": ...}) so scripts
and the OpenAPI description can rely on one shape.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from config.settings import get_settings
from web.inputs import refuse_nul_bytes

bp = Blueprint("api", __name__, url_prefix="/api")
PUBLIC = frozenset({"api.openapi"})


@bp.before_request
def _authorise() -> ResponseReturnValue | None:
    if request.endpoint in PUBLIC:
        return None
    token = get_settings().admin_token
    if not token:
        return {"error": "the admin API is disabled: ADMIN_TOKEN is not set"}, 503
    scheme, _, given = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.encode()
    ):
        return {"error": "a valid bearer token is required"}, 401, {"WWW-Authenticate": "Bearer"}
    refuse_nul_bytes()
    return None


@bp.errorhandler(HTTPException)
def _json_error(exc: HTTPException) -> ResponseReturnValue:
    return {"error": exc.description or exc.name}, exc.code or 500


def _register_routes() -> None:
    from web.api import complaints, directory, openapi, outbox, reporters, reports  # noqa: F401


_register_routes()
