"""Schemathesis drives every operation of /api/openapi.json: no server errors, responses conform."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import delete, func, select, update

from app import create_app
from models.agencies import Agency, Officer
from models.db import session_scope

from web_support import ADMIN_TOKEN, file

# Loaded from the app's own URL (it needs neither token nor database), so the
# description tested is the one served.
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", create_app())
# Not negative_data_rejection: unknown query parameters are ignored on purpose.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture()
def seeded(web_env: dict[str, str]) -> Iterator[None]:
    """A complaint to find, a confidential anonymous one; agencies Schemathesis adds go after."""
    with session_scope() as session:
        last_agency = session.scalar(select(func.max(Agency.id)))
    file(
        "jalan rusak di Kota Bandung", agency="PUPR.32.73", sector="PEKERJAAN_UMUM", region="32.73"
    )
    file("pungli", anonymous=True, confidential=True)
    yield
    with session_scope() as session:
        added = select(Agency.id).where(Agency.id > last_agency)
        session.execute(delete(Officer).where(Officer.agency_id.in_(added)))
        session.execute(update(Agency).where(Agency.id > last_agency).values(parent_id=None))
        session.execute(delete(Agency).where(Agency.id > last_agency))


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_description(case: schemathesis.Case, seeded: None) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, checks=CHECKS)
