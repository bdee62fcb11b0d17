"""The statistical sector model, its blend with the rules, and its committed data file."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing.classifier import BlendSettings, SectorClassifier
from routing.corpus import CorpusLabeler
from routing.engine import Router
from routing.model import SectorModel, features
from routing.sectors import SectorRules
from routing.text import tokens
from routing.train import DEFAULT_CORPUS, DEFAULT_MODEL, LABELS, train

DOCS = [
    (tokens("antrian poli rumah sakit lama sekali"), "KESEHATAN"),
    (tokens("dokter rumah sakit tidak ada"), "KESEHATAN"),
    (tokens("trayek angkot dialihkan sopir ugal"), "PERHUBUNGAN"),
    (tokens("sopir angkot ngetem di badung"), "PERHUBUNGAN"),
]


def test_features_are_words_and_pairs_without_numbers_or_ignored_places() -> None:
    assert features(["jalan", "rusak", "3", "badung"], frozenset({"badung"})) == {
        "jalan",
        "rusak",
        "jalan rusak",
    }


def test_model_learns_and_names_the_deciding_words() -> None:
    model = SectorModel.train(DOCS)
    result = model.predict(tokens("poli rumah sakit penuh"))
    assert result is not None
    assert max(result.probabilities, key=result.probabilities.get) == "KESEHATAN"
    assert "rumah sakit" in model.explain("KESEHATAN", result.present)
    assert model.predict(tokens("halo")) is None  # nothing it knows


def test_ignored_place_words_never_become_sector_evidence() -> None:
    model = SectorModel.train(DOCS, ignore=frozenset({"badung"}))
    assert "badung" not in model.feature_counts
    assert model.predict(tokens("badung")) is None


def test_serialisation_is_deterministic_and_round_trips(tmp_path: Path) -> None:
    model = SectorModel.train(DOCS)
    assert SectorModel.train(reversed(DOCS)).to_json() == model.to_json()
    path = tmp_path / "model.json"
    path.write_text(model.to_json(), encoding="utf-8")
    loaded = SectorModel.from_file(path)
    assert loaded.to_json() == model.to_json()
    assert loaded.predict(tokens("angkot")) == model.predict(tokens("angkot"))


@pytest.fixture(scope="module")
def blend() -> SectorClassifier:
    rules = SectorRules(
        {
            "min_score": 2,
            "sector": {
                "AIR_MINUM": {"terms": {"pdam": 5, "air mati": 5}},
                "KESEHATAN": {"terms": {"puskesmas": 3}},
                "PERHUBUNGAN": {"terms": {"angkot": 3}},
            },
        }
    )
    return SectorClassifier(rules, SectorModel.train(DOCS), BlendSettings())


def test_a_clear_rule_outvotes_the_model(blend: SectorClassifier) -> None:
    # 10 rule points = 30 nats: more than the floored model (27.6) can answer.
    result = blend.classify(tokens("pdam, air mati, anak sakit"))
    assert (result.sector, result.source) == ("AIR_MINUM", "rules")


def test_the_model_covers_texts_without_rule_words(blend: SectorClassifier) -> None:
    result = blend.classify(tokens("antrian poli rumah sakit"))
    assert (result.sector, result.source) == ("KESEHATAN", "model")
    assert "rumah sakit" in result.words


def test_a_weak_model_guess_goes_to_the_coordinator(blend: SectorClassifier) -> None:
    result = blend.classify(tokens("sopir"))  # seen once, in PERHUBUNGAN
    strict = SectorClassifier(blend.rules, blend.model, BlendSettings(min_probability=0.999))
    assert result.sector == "PERHUBUNGAN"
    assert strict.classify(tokens("sopir")).sector == "LAINNYA"


def test_explanation_says_when_the_model_decided(router: Router) -> None:
    explanation = router.route("lowongan kerja di pabrik, kab sijunjung").explanation
    assert explanation.startswith('KETENAGAKERJAAN (model): "kerja", "lowongan kerja"')


def test_the_router_without_a_model_uses_the_rules_alone(router: Router) -> None:
    rules_only = router.with_sector_model(None)
    assert rules_only.route("lowongan kerja di pabrik").sector == "LAINNYA"
    assert rules_only.regions is router.regions  # the index is shared, not rebuilt


@pytest.mark.skipif(not DEFAULT_CORPUS.exists(), reason="development corpus not present")
def test_committed_model_is_what_training_produces(router: Router) -> None:
    items = CorpusLabeler.from_file(LABELS, regions=None).items(DEFAULT_CORPUS)
    assert train(items, router.regions.place_words()).to_json() == DEFAULT_MODEL.read_text(
        encoding="utf-8"
    )


def test_the_model_never_turns_a_recognised_sector_into_lainnya(router: Router) -> None:
    decision = router.route("pbb sy naik 300% tahun ini tanpa penjelasan, kota bandung")
    assert decision.sector == "PAJAK_DAERAH"
    assert router.route("tolong pak").sector == "LAINNYA"  # too little for a model guess
