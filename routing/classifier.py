"""Sector decision: the keyword rules and the statistical model, blended.

Each sector's score is  log max(P_model(sector | text), floor) + rule_weight * rule points.
With the defaults a rule point is worth 3 nats and the model at most 27.6:
ten rule points always win, a single strong word ("pdam", 5 points) wins
unless the model is very sure of another sector, and texts the rules barely
touch, or where two sectors' rules tie (a hospital complaint addressed to
BPJS Kesehatan), are decided by the words the model learned from the corpus.
The settings were chosen by 5-fold cross-validation (routing/evaluate.py).
Without a model the rules decide alone, exactly as before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path

from routing.model import ModelResult, SectorModel
from routing.sectors import UNKNOWN_SECTOR, SectorResult, SectorRules

_EXPLAIN_WORDS = 3


@dataclass(frozen=True, slots=True)
class BlendSettings:
    """The [model] table of sectors.toml."""

    rule_weight: float = 3.0  # best of {2, 2.5, 3, 4, 6, 8, 12} in cross-validation
    # With no rule evidence, a model guess below this probability goes to the
    # region's coordinator (LAINNYA) rather than to a probably wrong dinas.
    # 0.5-0.9 differ by one or two corpus texts; 0.7 keeps "tolong pak" from Satpol PP.
    min_probability: float = 0.7
    # The model's probabilities are floored here before the blend: naive Bayes is
    # overconfident on long texts (1e-40 is common), and an unbounded model
    # would drown any rule. 1e-12 (27.6 nats, about nine rule points) was best
    # of 1e-4 .. 1e-20 in cross-validation.
    probability_floor: float = 1e-12


class SectorClassifier:
    """Rules first-class, the model as the tie-breaker and the fallback."""

    def __init__(
        self, rules: SectorRules, model: SectorModel | None, settings: BlendSettings
    ) -> None:
        self.rules = rules
        self.model = model
        self.settings = settings

    @classmethod
    def from_config(
        cls, routing_dir: Path, rules: SectorRules, ignore: frozenset[str]
    ) -> SectorClassifier:
        """The model named in sectors.toml's [model] table, if it is there and enabled.

        `ignore`: the words the model was trained without (RegionIndex.place_words).
        """
        spec = rules.model_spec
        if not spec.get("enabled", True) or "file" not in spec:
            return cls(rules, None, BlendSettings())
        names = {f.name for f in fields(BlendSettings)}
        settings = BlendSettings(**{k: float(v) for k, v in spec.items() if k in names})
        model = SectorModel.from_file(routing_dir / spec["file"], ignore)
        return cls(rules, model, settings)

    def with_model(self, model: SectorModel | None) -> SectorClassifier:
        """The same rules and settings with another model (cross-validation folds)."""
        return SectorClassifier(self.rules, model, self.settings)

    def classify(self, toks: list[str]) -> SectorResult:
        ruled = self.rules.classify(toks)
        if self.model is None:
            return ruled
        predicted = self.model.predict(toks)
        return ruled if predicted is None else self._blend(self.model, ruled, predicted)

    def _blend(
        self, model: SectorModel, ruled: SectorResult, predicted: ModelResult
    ) -> SectorResult:
        weight = self.settings.rule_weight
        floor = self.settings.probability_floor
        # A sector the model never saw still counts through its rules.
        log_scores = {
            sector: math.log(max(predicted.probabilities.get(sector, 0.0), floor))
            + weight * ruled.scores.get(sector, 0.0)
            for sector in predicted.probabilities.keys() | ruled.scores.keys()
        }
        rules_silent = ruled.sector == UNKNOWN_SECTOR
        if not rules_silent:
            # "No sector" cannot outvote a sector the rules recognised ("pbb").
            log_scores.pop(UNKNOWN_SECTOR, None)
        top = max(log_scores.values())
        exp = {s: math.exp(v - top) for s, v in log_scores.items()}
        total = sum(exp.values())
        sector = max(log_scores, key=lambda s: (log_scores[s], s))
        probability = exp[sector] / total
        if sector == UNKNOWN_SECTOR or (
            rules_silent and probability < self.settings.min_probability
        ):
            return SectorResult(UNKNOWN_SECTOR, 0.0, (), False, ruled.scores)
        agreed = sector == ruled.sector
        learned = model.explain(sector, predicted.present)
        words = tuple(dict.fromkeys(ruled.phrases.get(sector, ()) + learned))[:_EXPLAIN_WORDS]
        return SectorResult(
            sector,
            round(probability, 3),
            words,
            ruled.national if agreed else False,
            ruled.scores,
            ruled.phrases,
            "rules" if agreed else "model",
        )
