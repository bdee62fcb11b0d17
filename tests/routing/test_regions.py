"""Region detection as a citizen's text exercises it."""

from __future__ import annotations

import tomllib

import pytest

from routing.engine import DEFAULT_CONFIG_DIR, Router
from routing.text import normalise


def region(router: Router, text: str, hint: str | None = None) -> str | None:
    return router.route(text, region_hint=hint).region_code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("jalan rusak di kab sijunjung", "13.03"),
        ("jalan rusak di kabupaten bandung", "32.04"),
        ("jalan rusak di kota bandung", "32.73"),
        ("jalan rusak di bandung", "32.73"),  # the bare name means the city
        ("banjir di jkt", "31"),
        ("sampah di jaksel", "31.74"),
        ("ktp di jogja", "34.71"),
        ("macet parah di sby", "35.78"),
        ("bpjs kc sampit", "62.02"),  # a town people name instead of its kabupaten
    ],
)
def test_prefixes_and_informal_names(router: Router, text: str, code: str) -> None:
    assert region(router, text) == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("jalan berlubang di kab sijunjng", "13.03"),
        ("jalan rusak di smarang", "33.74"),
        ("banjir di kota surabya", "35.78"),
    ],
)
def test_typos_after_a_place_marker(router: Router, text: str, code: str) -> None:
    assert region(router, text) == code


def test_kecamatan_named_alone_resolves_to_its_kabupaten(router: Router) -> None:
    decision = router.route("puskesmas kec lowokwaru tutup siang")
    assert decision.region_code.startswith("35.73")
    assert decision.region_level == "kecamatan"
    assert decision.agency_code == "DINKES.35.73"


def test_shared_kecamatan_name_is_resolved_by_its_kabupaten(router: Router) -> None:
    assert region(router, "banjir di kec sukajadi kota bandung") == "32.73.07"
    assert region(router, "banjir di kec sukajadi pekanbaru").startswith("14.71")


def test_shared_kecamatan_name_alone_stays_unknown(router: Router) -> None:
    decision = router.route("banjir di kec sukajadi")
    assert decision.region_code is None
    assert decision.needs_location


def test_kecamatan_picks_the_kabupaten_of_a_shared_name(router: Router) -> None:
    assert region(router, "jalan rusak di kec cileunyi bandung").startswith("32.04.")


def test_two_places_named_the_marked_one_wins(router: Router) -> None:
    assert region(router, "sy warga bekasi, jalan rusak di kab bogor") == "32.01"


def test_two_kabupaten_in_one_province_back_off_to_the_province(router: Router) -> None:
    assert region(router, "jalan antara kab kendal dan kab batang rusak") == "33"


def test_common_words_are_not_places_without_a_marker(router: Router) -> None:
    assert region(router, "nasib malang jalan rusak tidak diperbaiki") is None
    assert region(router, "sampah di pantai padang rumput") is None
    assert region(router, "jalan rusak di kota batu") == "35.79"


def test_street_names_do_not_override_the_city(router: Router) -> None:
    assert region(router, "ktp di disdukcapil jl. ambon kota bandung") == "32.73"


def test_no_place_means_national_triage(router: Router) -> None:
    decision = router.route("jalan rusak parah mohon diperbaiki")
    assert decision.region_code is None
    assert decision.agency_code == "NAS.ADMIN"
    assert decision.needs_location


def test_region_hint_outweighs_the_text(router: Router) -> None:
    decision = router.route("jalan rusak di depan rumah", region_hint="KAB SIJUNJUNG")
    assert decision.region_code == "13.03"
    assert decision.agency_code == "PUPR.13.03"
    assert region(router, "sy warga bandung, jalan rusak", hint="bogor kota") == "32.71"


def test_match_regions_offers_the_typed_place_first(router: Router) -> None:
    assert router.match_regions("sijunjng")[0][:2] == ("13.03", "Kabupaten Sijunjung")
    assert router.match_regions("kab bandung")[0][0] == "32.04"
    candidates = router.match_regions("bandung", limit=3)
    assert {"32.04", "32.73"} <= {code for code, _, _ in candidates}
    assert all(0.0 <= score <= 1.0 for _, _, score in candidates)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("listrik padam terus di kepanjen", "35.07"),  # capital of Kabupaten Malang
        ("lampu jalan mati, ngamprah", "32.17"),  # a kecamatan and a desa name: the capital wins
        ("banjir di tanjung, kab tabalong", "63.09"),  # a capital shared by two kabupaten
    ],
)
def test_kabupaten_capitals_name_their_kabupaten(router: Router, text: str, code: str) -> None:
    assert region(router, text) == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("ktp blm jadi, palembng", "16.71"),
        ("jalan rusak parah surabya", "35.78"),
        ("banjir lagi sidoarjoo", "35.15"),
    ],
)
def test_typos_without_a_marker(router: Router, text: str, code: str) -> None:
    assert region(router, text) == code


@pytest.mark.parametrize(
    "text", ["pelayanan kantor buruk sekali", "pembangunan gedung terbengkalai", "sampah busuk"]
)
def test_ordinary_words_are_not_typo_places(router: Router, text: str) -> None:
    assert region(router, text) is None


def test_capitals_lie_inside_their_kabupaten(router: Router) -> None:
    """The hand-compiled capitals table against the Kemendagri list it must agree with.

    A capital is a kecamatan or desa of the kabupaten named like the town, or
    named after it ("Ungaran Barat"), or that the town is named after ("Sumbawa").
    """
    places = tomllib.loads((DEFAULT_CONFIG_DIR / "routing" / "places.toml").read_text("utf-8"))
    names = router.regions.names

    def same_town(town: str, name: str) -> bool:
        return (
            name == town
            or name.startswith(town + " ")
            or town.startswith(name + " ")
            or name.replace(" ", "") == town.replace(" ", "")
        )

    for town, codes in places["capitals"].items():
        for kab in [codes] if isinstance(codes, str) else codes:
            assert any(
                same_town(town, normalise(name))
                for code, name in names.items()
                if code.startswith(kab + ".")
            ), f"{town} is not in {names[kab]}"
