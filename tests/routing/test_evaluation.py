"""Accuracy on the labelled SMS set, and the corpus salutation handling."""

from __future__ import annotations

from pathlib import Path

from routing.corpus import CorpusLabeler, split_salutation
from routing.engine import DEFAULT_CONFIG_DIR, Router
from routing.evaluate import DEFAULT_SMS, score_sms


def test_sms_set_meets_the_targets(router: Router) -> None:
    sector, region, no_place = score_sms(router, DEFAULT_SMS)
    assert sector.total >= 150
    assert sector.accuracy >= 0.85
    assert region.accuracy >= 0.90
    assert no_place.accuracy >= 0.90


def test_salutation_is_removed_before_routing() -> None:
    body = "Yth. Dinas Perhubungan Kota Semarang, <br><br>Kpd Yth. Pemprov DKI<br />parkir liar"
    agency, rest = split_salutation(body)
    assert agency == "Dinas Perhubungan Kota Semarang"
    assert "Semarang" not in rest and "DKI" not in rest
    assert "parkir liar" in rest


def test_salutation_that_never_closes_keeps_the_message() -> None:
    body = "yth. bpjs.. saya ingin menanyakan klaim jht saya, terima kasih"
    agency, rest = split_salutation(body)
    assert agency == "bpjs"
    assert "klaim jht" in rest


def test_agency_labels(router: Router) -> None:
    labeler = CorpusLabeler.from_file(
        DEFAULT_CONFIG_DIR / "routing" / "corpus_labels.toml", router.regions
    )
    assert labeler.sector("BPJS Kesehatan KC Sampit") == "JAMINAN_KESEHATAN"
    assert labeler.sector("Satuan Polisi Pamong Praja Kota Bandung") == "KETERTIBAN"
    assert labeler.sector("Direktorat Jenderal Imigrasi") == "LAINNYA"
    assert labeler.kab_kota("BPJS Kesehatan KC Sampit") == "62.02"
    assert labeler.kab_kota("Kementerian Badan Usaha Milik Negara") is None
    assert Path(DEFAULT_SMS).exists()
