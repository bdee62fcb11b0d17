"""Open311 GeoReport v2: services, public requests without RAHASIA or reporters, keyed posts."""

from __future__ import annotations

import re
import subprocess
import tomllib

from flask.testing import FlaskClient

from config.settings import CONFIG_DIR

from support import wait_for
from web_support import OPEN311_KEY, file


def test_every_routing_sector_is_a_service(client: FlaskClient) -> None:
    sectors = tomllib.loads((CONFIG_DIR / "routing" / "sectors.toml").read_text())["sector"]
    codes = {s["service_code"] for s in client.get("/open311/v2/services.json").json}
    assert codes == {*sectors, "LAINNYA"}


def test_requests_hide_confidential_complaints_and_reporters(client: FlaskClient) -> None:
    public = file("jalan rusak dekat 081298765432", number="081234567001", region="32.73")
    secret = file("pungli kepala dinas", number="081234567002", confidential=True)
    listed = client.get("/open311/v2/requests.json").json
    assert [r["service_request_id"] for r in listed] == [str(public.tracking_number)]
    assert listed[0]["status"] == "open"
    assert listed[0]["address"] == "Kota Bandung"
    assert listed[0]["description"] == "jalan rusak dekat 08129876xxxx"
    assert "81234567001" not in str(listed) and "628123456" not in str(listed)
    one = client.get(f"/open311/v2/requests/{public.tracking_number}.json")
    assert one.status_code == 200 and one.json[0]["agency_responsible"]
    assert "81234567001" not in str(one.json) and "628123456" not in str(one.json)
    assert client.get("/open311/v2/requests/².json").status_code == 404
    hidden = client.get(f"/open311/v2/requests/{secret.tracking_number}.json")
    assert hidden.status_code == 404 and hidden.json[0]["code"] == 404
    by_id = client.get(
        "/open311/v2/requests.json",
        query_string={"service_request_id": f"{public.tracking_number},{secret.tracking_number}"},
    )
    assert len(by_id.json) == 1
    assert client.get("/open311/v2/requests.json?status=closed").json == []
    both = client.get("/open311/v2/requests.json?status=open,closed").json  # was a 400
    assert [r["service_request_id"] for r in both] == [str(public.tracking_number)]
    for edge in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"):  # were 500s
        assert (
            client.get("/open311/v2/requests.json", query_string={"start_date": edge}).status_code
            == 400
        )


def test_post_needs_a_key_and_a_known_service(client: FlaskClient) -> None:
    form = {"service_code": "PEKERJAAN_UMUM", "description": "jalan rusak", "phone": "081234567003"}
    refused = client.post("/open311/v2/requests.json", data={**form, "api_key": "wrong"})
    assert refused.status_code == 403
    unknown = client.post(
        "/open311/v2/requests.json", data={**form, "api_key": OPEN311_KEY, "service_code": "X"}
    )
    assert unknown.status_code == 400


def test_post_becomes_a_complaint_through_the_workers(
    client: FlaskClient, worker: subprocess.Popen[bytes]
) -> None:
    resp = client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": OPEN311_KEY,
            "service_code": "PEKERJAAN_UMUM",
            "description": "Jalan berlubang besar di depan pasar",
            "address_string": "Kota Bandung",
            "email": "warga@example.org",
        },
    )
    assert resp.status_code == 201
    token = resp.json[0]["token"]

    def tracking() -> str | None:
        return client.get(f"/open311/v2/tokens/{token}.json").json[0]["service_request_id"]

    number = wait_for(tracking)
    assert re.fullmatch(r"\d{7,}", number)
    [request] = client.get(f"/open311/v2/requests/{number}.json").json
    assert request["service_code"] == "PEKERJAAN_UMUM"
    assert request["address_id"] == "32.73"
    assert "Bandung" in request["agency_responsible"]
