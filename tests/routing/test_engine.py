"""The routing decision: sector + region -> agency, No Wrong Door."""

from __future__ import annotations

import pytest

from routing import get_router
from routing.engine import Router, RoutingDecision
from routing.registry import AgencySpec


def test_sector_and_kabupaten_route_to_the_local_dinas(router: Router) -> None:
    decision = router.route("jalan rusak parah di kab sijunjung")
    assert (decision.sector, decision.agency_code) == ("PEKERJAAN_UMUM", "PUPR.13.03")
    assert decision.agency_name == "Dinas PUPR Kabupaten Sijunjung"
    assert not decision.needs_location


def test_province_only_goes_to_the_provincial_agency(router: Router) -> None:
    decision = router.route("jalan rusak di jawa tengah")
    assert decision.region_level == "provinsi"
    assert decision.agency_code == "PUPR.33"


def test_unknown_sector_goes_to_the_regional_coordinator(router: Router) -> None:
    decision = router.route("mohon info kantor bupati kab sijunjung")
    assert decision.sector == "LAINNYA"
    assert decision.agency_code == "KOMINFO.13.03"


def test_national_sectors_go_to_the_national_body_without_a_place(router: Router) -> None:
    decision = router.route("kartu bpjs kesehatan sy dinonaktifkan")
    assert decision.agency_code == "BPJSKES"
    assert not decision.needs_location
    assert router.route("klaim jht blm cair").agency_code == "BPJSTK"
    assert router.route("gaji di bawah umk kab semarang").agency_code == "DISNAKER.33.22"


def test_missing_agency_falls_back_to_the_coordinator(router: Router) -> None:
    agencies = [a for a in router.agencies.values() if a.code != "PUPR.13.03"]
    trimmed = Router.from_config(agencies=agencies)
    assert trimmed.route("jalan rusak di kab sijunjung").agency_code == "KOMINFO.13.03"


def test_agencies_passed_by_the_app_are_used(router: Router) -> None:
    """What handlers/router.py builds from the database's agencies: the same index, new tables."""
    added = AgencySpec("PUPR.13.03", "UPT Jalan Sijunjung", "PEKERJAAN_UMUM", "13.03", None, False)
    agencies = [a for a in router.agencies.values() if a.code != "PUPR.13.03"] + [added]
    custom = router.with_agencies(agencies)
    assert custom.route("jalan rusak di kab sijunjung").agency_name == "UPT Jalan Sijunjung"
    assert router.route("jalan rusak di kab sijunjung").agency_name != "UPT Jalan Sijunjung"
    assert custom.regions is router.regions and custom.classifier is router.classifier


def test_agencies_without_national_triage_are_refused(router: Router) -> None:
    agencies = [a for a in router.agencies.values() if a.code != "NAS.ADMIN"]
    with pytest.raises(ValueError, match=r"NAS\.ADMIN"):
        router.with_agencies(agencies)


def test_decision_serialises_for_the_command_line(router: Router) -> None:
    data = router.route("sampah numpuk di jaksel").to_dict()
    assert data["agency_code"] == "DLH.31.74"
    assert set(data) == set(RoutingDecision.__dataclass_fields__)
    assert 0.0 < data["confidence"] <= 1.0


def test_get_router_is_built_once() -> None:
    assert get_router() is get_router()


def test_a_sector_chosen_in_a_menu_replaces_the_classifier() -> None:
    from routing.engine import get_router

    guess = get_router().route("lampu jalan mati", region_hint="Kota Bandung")
    chosen = get_router().route(
        "lampu jalan mati", region_hint="Kota Bandung", sector_choice="PERHUBUNGAN"
    )
    assert chosen.sector == "PERHUBUNGAN" and chosen.agency_code == "DISHUB.32.73"
    assert chosen.region_code == guess.region_code == "32.73"
