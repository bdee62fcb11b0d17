"""Helpers of the web tests: the admin client, settings for the web, complaints filed directly."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from models import actions
from models.actions import Channel, Route
from models.complaints import Complaint
from models.db import session_scope

ADMIN_TOKEN = "admin-test-token"
OPEN311_KEY = "open311-test-key"
WEB_ENV = {
    "ADMIN_TOKEN": ADMIN_TOKEN,
    "SIMULATOR": "on",
    "OPEN311_KEYS": json.dumps({OPEN311_KEY: "civic-app"}),
}


@dataclass
class Api:
    """The test client with the admin bearer token."""

    client: FlaskClient

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def get(self, path: str, **query: object) -> TestResponse:
        return self.client.get(path, query_string=query, headers=self.headers)

    def post(self, path: str) -> TestResponse:
        return self.client.post(path, headers=self.headers)


def file(
    text: str,
    *,
    number: str = "081234567001",
    agency: str = "NAS.ADMIN",
    sector: str = "LAINNYA",
    region: str | None = None,
    anonymous: bool = False,
    confidential: bool = False,
    **fields: object,
) -> Complaint:
    """A filed complaint; `fields` overwrite columns afterwards (deadlines, status, rating)."""
    with session_scope() as session:
        reporter = actions.ensure_reporter(session, number)
        route = Route(sector, region, agency, 0.9, "test", needs_location=False)
        complaint = actions.file_complaint(
            session,
            reporter=reporter,
            reply=Channel("sim", "web", number),
            text=text,
            route=route,
            anonymous=anonymous,
            confidential=confidential,
        )
        for name, value in fields.items():
            setattr(complaint, name, value)
        return complaint


def set_fields(complaint: Complaint, **fields: datetime | str | int | None) -> None:
    with session_scope() as session:
        row = session.get(Complaint, complaint.id)
        assert row is not None
        for name, value in fields.items():
            setattr(row, name, value)
