"""GET /api/stats and the quarterly agency performance report (JSON or CSV)."""

from __future__ import annotations

import csv
import io
from dataclasses import fields

from flask import Response
from flask.typing import ResponseReturnValue

from models.base import utcnow
from models.db import session_scope
from models.stats import WIB, AgencyPerformance, agency_performance, complaint_statistics
from web.api import bp
from web.api.params import choice_arg, datetime_arg, int_arg


@bp.get("/stats")
def stats() -> ResponseReturnValue:
    with session_scope() as session:
        return complaint_statistics(session, datetime_arg("since"), datetime_arg("until"))


def _csv(rows: list[AgencyPerformance], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    names = [f.name for f in fields(AgencyPerformance)]
    writer.writerow(names)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row.as_dict().values()])
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/reports/agency-performance")
def performance() -> ResponseReturnValue:
    """The quarter (WIB calendar) defaults to the current one; format=csv for spreadsheets."""
    today = utcnow().astimezone(WIB)
    year = int_arg("year", today.year, 2000, 2100)
    quarter = int_arg("quarter", (today.month - 1) // 3 + 1, 1, 4)
    as_csv = choice_arg("format", ("json", "csv")) == "csv"
    with session_scope() as session:
        rows = agency_performance(session, year, quarter)
    if as_csv:
        return _csv(rows, f"kinerja-instansi-{year}-Q{quarter}.csv")
    return {"year": year, "quarter": quarter, "agencies": [r.as_dict() for r in rows]}
