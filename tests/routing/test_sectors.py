"""Sector classification and the explanation officers read."""

from __future__ import annotations

import pytest

from routing.engine import Router
from routing.sectors import SectorRules
from routing.text import tokens


@pytest.mark.parametrize(
    ("text", "sector"),
    [
        ("jln berlubang gak dibenerin2", "PEKERJAAN_UMUM"),
        ("blangko ektp habis", "KEPENDUDUKAN"),
        ("the road is full of potholes", "PEKERJAAN_UMUM"),
        ("power outage since yesterday", "LISTRIK"),
        ("air pdam keruh", "AIR_MINUM"),
        ("bikin skck dipersulit", "KEPOLISIAN"),
        ("pupuk subsidi langka", "PERTANIAN"),
        ("pbb naik 3x lipat", "PAJAK_DAERAH"),
        ("pungli urus surat di kelurahan", "PENGAWASAN"),
        ("sinyal hilang seminggu", "KOMINFO"),
    ],
)
def test_sector_from_informal_and_english_texts(router: Router, text: str, sector: str) -> None:
    assert router.route(text).sector == sector


def test_unknown_sector_is_lainnya_with_zero_confidence(router: Router) -> None:
    decision = router.route("halo selamat pagi")
    assert decision.sector == "LAINNYA"
    assert decision.sector_confidence == 0.0


def test_more_evidence_gives_more_confidence(router: Router) -> None:
    weak = router.route("jalan di kab sijunjung").sector_confidence
    strong = router.route("jalan rusak berlubang aspal hancur di kab sijunjung").sector_confidence
    assert 0.0 <= weak < strong <= 1.0


def test_explanation_names_the_deciding_words(router: Router) -> None:
    explanation = router.route("jalan rusak parah di kab sijunjung").explanation
    assert '"jalan rusak"' in explanation
    assert "sijunjung" in explanation
    assert len(explanation) <= 120


def test_rules_are_data_an_administrator_can_change() -> None:
    rules = SectorRules({"min_score": 1, "sector": {"KOMINFO": {"terms": {"wifi*": 2}}}})
    assert rules.classify(tokens("wifinya putus")).sector == "KOMINFO"
    assert rules.classify(tokens("jalan rusak")).sector == "LAINNYA"


def test_a_repeated_word_counts_at_most_twice() -> None:
    rules = SectorRules(
        {"sector": {"A": {"terms": {"x": 1}}, "B": {"terms": {"y": 3}}}, "min_score": 1}
    )
    assert rules.classify(tokens("x x x x x y")).sector == "B"
