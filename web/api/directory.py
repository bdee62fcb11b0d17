"""Agencies and their officers: read (GET) and add (POST /api/agencies, /api/officers).

Writes go through models.admin, like the command line, so both keep the
same audit trail. Officer numbers are shown in full: they are staff numbers administrators
manage, not reporters.
"""

from __future__ import annotations

from typing import Any

from flask import abort, request
from flask.typing import ResponseReturnValue
from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased

from models import admin
from models.agencies import Agency, Officer
from models.db import session_scope
from web.api import bp
from web.api.params import Page, bool_arg

Parent = aliased(Agency)


def agency_json(agency: Agency, parent_code: str | None, officers: int) -> dict[str, Any]:
    return {
        "code": agency.code,
        "name": agency.name,
        "sector": agency.sector,
        "region_code": agency.region_code,
        "parent_code": parent_code,
        "is_coordinator": agency.is_coordinator,
        "active": agency.active,
        "officers": officers,
    }


def officer_json(officer: Officer, agency_code: str) -> dict[str, Any]:
    return {
        "id": officer.id,
        "msisdn": officer.msisdn,
        "name": officer.name,
        "agency_code": agency_code,
        "active": officer.active,
    }


def _agencies() -> Select:
    """(Agency, parent code, active officer count), by code."""
    officers = (
        select(func.count())
        .select_from(Officer)
        .where(Officer.agency_id == Agency.id, Officer.active)
        .scalar_subquery()
    )
    return (
        select(Agency, Parent.code, officers)
        .outerjoin(Parent, Parent.id == Agency.parent_id)
        .order_by(Agency.code)
    )


@bp.get("/agencies")
def list_agencies() -> ResponseReturnValue:
    """Filter by sector, region (a code and everything below it), a name fragment q, active."""
    page = Page.from_request()
    query = _agencies()
    if sector := request.args.get("sector", "").strip():
        query = query.where(Agency.sector == sector.upper())
    if region := request.args.get("region", "").strip():
        query = query.where(
            (Agency.region_code == region) | Agency.region_code.startswith(region + ".")
        )
    if fragment := request.args.get("q", "").strip():
        query = query.where(Agency.name.ilike(f"%{fragment}%"))
    active = bool_arg("active")
    if active is not None:
        query = query.where(Agency.active == active)
    with session_scope() as session:
        rows, total = page.apply(session, query)
        return page.envelope([agency_json(*row) for row in rows], total)


@bp.get("/agencies/<code>")
def get_agency(code: str) -> ResponseReturnValue:
    with session_scope() as session:
        row = session.execute(_agencies().where(Agency.code == code.upper())).first()
        if row is None:
            abort(404, f"no agency {code}")
        officers = session.scalars(
            select(Officer).where(Officer.agency_id == row[0].id).order_by(Officer.id)
        )
        return {
            **agency_json(*row),
            "officer_list": [officer_json(o, row[0].code) for o in officers],
        }


@bp.get("/officers")
def list_officers() -> ResponseReturnValue:
    page = Page.from_request()
    query = select(Officer, Agency.code).join(Agency).order_by(Officer.id)
    if agency := request.args.get("agency", "").strip():
        query = query.where(Agency.code == agency.upper())
    active = bool_arg("active")
    if active is not None:
        query = query.where(Officer.active == active)
    with session_scope() as session:
        rows, total = page.apply(session, query)
        return page.envelope([officer_json(*row) for row in rows], total)


def _body(*required: str) -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, "a JSON object is required")
    missing = [
        name for name in required if not isinstance(body.get(name), str) or not body[name].strip()
    ]
    if missing:
        abort(400, f"required: {', '.join(missing)}")
    return body


def _optional(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        abort(400, f"'{name}' must be a string")
    return value or None


@bp.post("/agencies")
def create_agency() -> ResponseReturnValue:
    body = _body("code", "name", "sector")
    coordinator = body.get("is_coordinator", False)
    if not isinstance(coordinator, bool):
        abort(400, "'is_coordinator' must be true or false")
    with session_scope() as session:
        try:
            agency = admin.add_agency(
                session,
                code=body["code"],
                name=body["name"],
                sector=body["sector"],
                region_code=_optional(body, "region_code"),
                parent_code=_optional(body, "parent_code"),
                is_coordinator=coordinator,
            )
        except admin.AdminError as exc:
            abort(409, str(exc))
        return agency_json(agency, agency.parent.code if agency.parent else None, 0), 201


@bp.post("/officers")
def create_officer() -> ResponseReturnValue:
    body = _body("agency_code", "msisdn")
    with session_scope() as session:
        try:
            officer = admin.add_officer(
                session,
                agency_code=body["agency_code"],
                msisdn=body["msisdn"],
                name=_optional(body, "name"),
            )
        except admin.AdminError as exc:
            abort(409, str(exc))
        return officer_json(officer, officer.agency.code), 201
