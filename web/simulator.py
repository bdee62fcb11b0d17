"""GET /: the phone simulator page, a feature phone that texts 1708 and dials *1708#.

The page talks to the simulator channel (/sim/sms, /sim/inbox) and to the
USSD endpoint exactly as a telco would; this module only renders it, with
the registered officers to pick from.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from config.settings import get_settings
from models.agencies import Agency, Officer
from models.db import session_scope

bp = Blueprint(
    "simulator",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/simulator",
)
MAX_OFFICERS = 200


def officers() -> list[dict[str, str]]:
    with session_scope() as session:
        rows = session.execute(
            select(Officer.msisdn, Officer.name, Agency.name)
            .join(Agency, Agency.id == Officer.agency_id)
            .where(Officer.active)
            .order_by(Agency.name, Officer.id)
            .limit(MAX_OFFICERS)
        ).all()
    return [
        {"msisdn": msisdn, "label": f"{name or 'Petugas'} — {agency}"}
        for msisdn, name, agency in rows
    ]


@bp.get("/")
def page() -> str:
    settings = get_settings()
    return render_template(
        "simulator.html",
        enabled=settings.simulator,
        shortcode=settings.shortcode,
        officers=officers() if settings.simulator else [],
    )
