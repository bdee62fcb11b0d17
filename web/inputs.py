"""Request input no database can store: refused up front as a 400, never a 500 later."""

from __future__ import annotations

from flask import abort, request


def refuse_nul_bytes() -> None:
    """PostgreSQL text cannot hold NUL; such a parameter is always garbage or an attack."""
    if any("\x00" in value for value in request.values.values()):
        abort(400, "parameters must not contain NUL characters")
