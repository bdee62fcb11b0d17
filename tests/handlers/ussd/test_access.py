"""Who may use *1708#: the aggregator holding USSD_TOKEN (when set), for Indonesian numbers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from app import create_app
from config.settings import get_settings
from models.complaints import Complaint
from models.inbound import InboundMessage
from models.outbox import OutboundMessage
from models.queues import get_redis

from channels import count

TOKEN = "ussd-aggregator-secret"
# Dialled, then all the way to "1 Kirim" in one request: what an impostor would send.
FILING = "1*6*kab sijunjung*1*Jembatan gantung putus sejak seminggu*1"


def form(phone: str = "+6281234567810", text: str = "") -> dict[str, str]:
    return {"sessionId": "ATUid_1", "serviceCode": "*1708#", "phoneNumber": phone, "text": text}


def nothing_stored() -> bool:
    sessions = list(get_redis().scan_iter("lapor:ussd:*"))
    return not sessions and count(Complaint) == count(InboundMessage) == count(OutboundMessage) == 0


@pytest.fixture()
def guarded(db: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    """The gateway with USSD_TOKEN set; the cached settings are re-read around it."""
    monkeypatch.setenv("USSD_TOKEN", TOKEN)
    get_settings.cache_clear()
    yield create_app().test_client()
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("query", "headers"),
    [({}, {}), ({"token": "wrong"}, {}), ({}, {"X-USSD-Token": TOKEN[:-1]})],
    ids=["none", "wrong parameter", "wrong header"],
)
def test_with_a_token_set_a_request_without_it_is_refused_and_nothing_stored(
    guarded: FlaskClient, query: dict[str, str], headers: dict[str, str]
) -> None:
    response = guarded.post("/ussd", query_string=query, headers=headers, data=form(text=FILING))
    assert (response.status_code, response.get_data(as_text=True)) == (403, "invalid token")
    assert nothing_stored()


@pytest.mark.parametrize(
    ("query", "data", "headers"),
    [({"token": TOKEN}, {}, {}), ({}, {"token": TOKEN}, {}), ({}, {}, {"X-USSD-Token": TOKEN})],
    ids=["query parameter", "form parameter", "header"],
)
def test_with_a_token_set_the_aggregator_carrying_it_gets_the_menu(
    guarded: FlaskClient, query: dict[str, str], data: dict[str, str], headers: dict[str, str]
) -> None:
    response = guarded.post("/ussd", query_string=query, headers=headers, data=form() | data)
    assert response.status_code == 200
    assert response.get_data(as_text=True).startswith("CON LAPOR! 1708\n1 Buat laporan")


@pytest.mark.parametrize(
    "phone",
    ["+447700900123", "447700900123", "+12025550123", "12025550123", "0012025550123", "1708"],
)
def test_a_foreign_number_is_refused_in_one_screen_and_gets_no_sms(
    client: FlaskClient, phone: str
) -> None:
    response = client.post("/ussd", data=form(phone, FILING))
    assert response.get_data(as_text=True) == (
        "END Maaf, layanan *1708# hanya untuk nomor seluler Indonesia (+62). "
        "Sampaikan laporan Anda melalui lapor.go.id."
    )
    assert nothing_stored()


@pytest.mark.parametrize("phone", ["+6281234567810", "6281234567810", "081234567810"])
def test_every_spelling_of_an_indonesian_number_gets_the_menu(
    client: FlaskClient, phone: str
) -> None:
    screen = client.post("/ussd", data=form(phone)).get_data(as_text=True)
    assert screen.startswith("CON LAPOR! 1708\n1 Buat laporan")
