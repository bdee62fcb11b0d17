"""Accuracy on the SMS sets, cross-validation folds, and the corpus salutation handling."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing.corpus import CorpusItem, CorpusLabeler, split_salutation
from routing.engine import DEFAULT_CONFIG_DIR, Router
from routing.evaluate import (
    DEFAULT_HOLDOUT,
    DEFAULT_SMS,
    Report,
    Score,
    score_sms,
    stratified_folds,
    table,
)


@pytest.mark.parametrize(("path", "size"), [(DEFAULT_SMS, 150), (DEFAULT_HOLDOUT, 100)])
def test_sms_sets_meet_the_targets(router: Router, path: Path, size: int) -> None:
    report = score_sms(router, path)
    assert report.sector.total >= size
    assert report.sector.accuracy >= 0.85
    assert report.kab_kota.accuracy >= 0.90
    assert report.no_place is not None and report.no_place.accuracy >= 0.90


def test_folds_are_disjoint_stratified_and_deterministic() -> None:
    items = [
        CorpusItem(str(1000 + n), "", "", sector, None)
        for n, sector in enumerate(["A"] * 10 + ["B"] * 5)
    ]
    folds = stratified_folds(items, 5)
    ids = [item.tracking_id for fold in folds for item in fold]
    assert sorted(ids) == sorted(item.tracking_id for item in items)
    assert all([i.sector for i in fold].count("A") == 2 for fold in folds)
    assert stratified_folds(list(reversed(items)), 5) == folds


def test_table_has_one_row_per_set() -> None:
    score = Score("sector", correct=17, total=20)
    text = table(
        [Report("set one", score, Score("kab", 9, 10)), Report("set two", score, Score("kab"))]
    )
    assert "| set one | 85.0% (17/20) | 90.0% (9/10) | - |" in text
    assert "| set two | 85.0% (17/20) | - | - |" in text


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
