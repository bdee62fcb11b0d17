"""The generated agency registry."""

from __future__ import annotations

import re

from routing.engine import Router
from routing.registry import generate_agencies


def test_every_region_has_local_agencies_and_a_coordinator(router: Router) -> None:
    agencies = list(router.agencies.values())
    regional = {a.region_code for a in agencies if a.region_code}
    assert len(regional) == 514 + 38
    coordinators = [a for a in agencies if a.is_coordinator]
    assert len(coordinators) == 514 + 38
    assert router.agencies["DUKCAPIL.13.03"].name.endswith("Kabupaten Sijunjung")
    assert router.agencies["POLRI.32.73"].name == "Polres Kota Bandung"
    assert router.agencies["ATR.32.73"].sector == "PERTANAHAN"


def test_codes_are_unique_readable_and_short(router: Router) -> None:
    codes = [a.code for a in router.agencies.values()]
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"[A-Z0-9.]{1,32}", code) for code in codes)


def test_escalation_is_berjenjang(router: Router) -> None:
    agencies = router.agencies
    kab = agencies["PUPR.13.03"]
    province = agencies[kab.parent_code]
    assert province.code == "PUPR.13"
    assert agencies[province.parent_code].region_code is None
    assert agencies["NAS.ADMIN"].parent_code is None
    assert all(a.parent_code is None or a.parent_code in agencies for a in agencies.values())


def test_generation_is_deterministic() -> None:
    rows = [("13", "Sumatera Barat"), ("13.03", "Kabupaten Sijunjung"), ("13.03.01", "Kec")]
    first = generate_agencies(rows)
    assert first == generate_agencies(list(reversed(rows)))
    assert {a.region_code for a in first} == {None, "13", "13.03"}
