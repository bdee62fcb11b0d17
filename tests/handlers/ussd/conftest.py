"""A handset on *1708#: each call of `press` is one aggregator request, as Africa's Talking sends it."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from app import create_app

CITIZEN = "+6281234567810"


class Handset:
    """One USSD session: inputs so far, joined by `*` in every request."""

    def __init__(self, client: FlaskClient, phone: str = CITIZEN) -> None:
        self.client = client
        self.phone = phone
        self.session_id = "ATUid_" + uuid.uuid4().hex
        self.inputs: list[str] = []

    def post(self, text: str) -> str:
        response = self.client.post(
            "/ussd",
            data={
                "sessionId": self.session_id,
                "serviceCode": "*1708#",
                "phoneNumber": self.phone,
                "text": text,
            },
        )
        assert response.status_code == 200
        assert response.mimetype == "text/plain"
        return response.get_data(as_text=True)

    def dial(self) -> str:
        return self.post("")

    def press(self, *entries: str) -> str:
        """Answer one screen per entry; return the last screen."""
        reply = ""
        for entry in entries:
            self.inputs.append(entry)
            reply = self.post("*".join(self.inputs))
        return reply

    def retry(self) -> str:
        """The aggregator sends the last request again."""
        return self.post("*".join(self.inputs))


@pytest.fixture()
def client(db: dict[str, str]) -> FlaskClient:
    return create_app().test_client()


@pytest.fixture()
def handset(client: FlaskClient) -> Callable[..., Handset]:
    def make(phone: str = CITIZEN) -> Handset:
        return Handset(client, phone)

    return make
