"""Sector classification from administrator-edited keyword rules (config/routing/sectors.toml).

Rules are data so that an administrator can fix a misrouted word without a
release; the classifier only sums weights of the phrases it finds, which keeps
every decision explainable to the officer who receives it.
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from routing.text import longest_from, normalise

UNKNOWN_SECTOR = "LAINNYA"
_MAX_PHRASE = 3
_MIN_PREFIX = 3
_REPEAT_CAP = 2  # a phrase counts at most twice: long rants repeat words
_SATURATION = 6.0  # score at which one sector alone is fully confident


@dataclass(frozen=True, slots=True)
class SectorResult:
    """A sector and the phrases that decided it."""

    sector: str
    confidence: float
    words: tuple[str, ...]
    national: bool  # decided by a national body's own terms (BPJS Ketenagakerjaan, ...)
    scores: dict[str, float]
    # Rule phrases found per sector, strongest first: the blend may pick a runner-up.
    phrases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    source: str = "rules"  # "rules", or "model" when the model overruled or filled in


class SectorRules:
    """Phrase and prefix tables compiled from sectors.toml."""

    def __init__(self, rules: dict) -> None:
        self.min_score = float(rules.get("min_score", 2.0))
        self.model_spec: dict = rules.get("model", {})
        self._phrases: dict[str, list[tuple[str, float]]] = defaultdict(list)
        self._prefixes: dict[str, list[tuple[str, float]]] = defaultdict(list)
        self._national: dict[str, set[str]] = {}
        self.sectors: list[str] = []
        for sector, spec in rules["sector"].items():
            self.sectors.append(sector)
            for phrase, weight in spec["terms"].items():
                if phrase.endswith("*"):
                    self._prefixes[normalise(phrase[:-1])].append((sector, float(weight)))
                else:
                    self._phrases[normalise(phrase)].append((sector, float(weight)))
            self._national[sector] = {normalise(p) for p in spec.get("national_terms", [])}
        self._prefix_lengths = sorted({len(p) for p in self._prefixes}, reverse=True)
        self._longest_from = longest_from(self._phrases)

    @classmethod
    def from_file(cls, path: Path) -> SectorRules:
        with path.open("rb") as handle:
            return cls(tomllib.load(handle))

    def vocabulary(self) -> set[str]:
        """Every single word the rules know: these are not place names when unmarked."""
        return {word for phrase in self._phrases for word in phrase.split(" ")}

    def classify(self, toks: list[str]) -> SectorResult:
        """Sum the weights of the rule phrases in `toks` (longest phrase wins at each word)."""
        hits: dict[tuple[str, str], float] = defaultdict(float)
        start = 0
        while start < len(toks):
            end, found = self._match_at(toks, start)
            for sector, weight in found:
                key = (sector, " ".join(toks[start:end]))
                hits[key] = min(hits[key] + weight, weight * _REPEAT_CAP)
            start = end if found else start + 1
        scores: dict[str, float] = defaultdict(float)
        phrases: dict[str, list[str]] = defaultdict(list)
        for (sector, phrase), weight in sorted(hits.items(), key=lambda item: -item[1]):
            scores[sector] += weight
            phrases[sector].append(phrase)
        found = {sector: tuple(words[:3]) for sector, words in phrases.items()}
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
        if not ranked or ranked[0][1] < self.min_score:
            return SectorResult(UNKNOWN_SECTOR, 0.0, (), False, dict(scores), found)
        sector, top = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        confidence = (top / (top + second)) * min(1.0, top / _SATURATION)
        national = any(word in self._national[sector] for word in found[sector][:2])
        return SectorResult(
            sector, round(confidence, 3), found[sector], national, dict(scores), found
        )

    def _match_at(self, toks: list[str], start: int) -> tuple[int, list[tuple[str, float]]]:
        longest = min(_MAX_PHRASE, self._longest_from.get(toks[start], 0))
        for end in range(min(len(toks), start + longest), start, -1):
            found = self._phrases.get(" ".join(toks[start:end]))
            if found:
                return end, found
        word = toks[start]
        for length in self._prefix_lengths:
            if length <= len(word) and length >= _MIN_PREFIX:
                found = self._prefixes.get(word[:length])
                if found:
                    return start + 1, found
        return start + 1, []
