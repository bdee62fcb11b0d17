"""The blocklist: POST /api/reporters/block and /api/reporters/unblock.

The number travels in the JSON body, never in the path, so it stays out of
access logs; answers show it masked. Writes go through models.admin, like
`python app.py reporter block|unblock`, with the same audit trail.
"""

from __future__ import annotations

from flask import abort
from flask.typing import ResponseReturnValue

from models import admin
from models.db import session_scope
from models.reporters import Reporter
from web.api import bp
from web.api.directory import _body, _optional


def reporter_json(reporter: Reporter) -> dict[str, object]:
    return {"reporter": reporter.masked, "blocked": reporter.blocked}


@bp.post("/reporters/block")
def block_reporter() -> ResponseReturnValue:
    body = _body("msisdn")
    with session_scope() as session:
        try:
            reporter = admin.block_reporter(
                session, body["msisdn"], _optional(body, "reason") or ""
            )
        except admin.AdminError as exc:
            abort(409, str(exc))
        return reporter_json(reporter)


@bp.post("/reporters/unblock")
def unblock_reporter() -> ResponseReturnValue:
    body = _body("msisdn")
    with session_scope() as session:
        reporter = admin.unblock_reporter(session, body["msisdn"])
        if reporter is None:
            abort(404, "nothing is held about that number")
        return reporter_json(reporter)
