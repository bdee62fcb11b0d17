"""Request input no database can store: refused up front as a 400, never a 500 later."""

from __future__ import annotations

from typing import Any

from flask import abort, request


def _holds_nul(value: Any) -> bool:
    """True when a string anywhere in a decoded JSON value (keys included) holds NUL."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def refuse_nul_bytes() -> None:
    """PostgreSQL text cannot hold NUL; such a parameter is always garbage or an attack."""
    values = [*request.values.values(), *(request.view_args or {}).values()]
    if _holds_nul(values) or _holds_nul(request.get_json(silent=True)):
        abort(400, "parameters must not contain NUL characters")
