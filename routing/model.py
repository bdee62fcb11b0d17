"""A multinomial naive Bayes sector model, in plain Python, stored as word counts.

The keyword rules are precise but silent on texts that use none of their
words; the model, trained on the LAPOR! development corpus, covers those and
breaks near ties. Naive Bayes because it trains in milliseconds, is exact to
serialise as integer counts (the committed file is deterministic and diffable),
scores a text with one dictionary look-up per word, and its decision splits
into per-word contributions, so the officer still sees which words decided.

Features are word unigrams and bigrams, each counted once per document
(binarised counts suit long, repetitive complaints better than raw counts).
Place names are left out (RegionIndex.place_words): a town is not a sector.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

FORMAT_VERSION = 1
# Additive smoothing. 0.1 was the best of {0.05, 0.1, 0.2, 0.5, 1.0} in 5-fold
# cross-validation on the corpus (routing/evaluate.py), together with the rule weight.
DEFAULT_ALPHA = 0.1
# A feature seen in one document only is noise (a name, a number). 2 was the
# best of {2, 3, 5, 8} in cross-validation.
_MIN_DF = 2
_EXPLAIN_WORDS = 3


def features(toks: Sequence[str], ignore: frozenset[str] = frozenset()) -> set[str]:
    """Unigrams and bigrams of a token list, without numbers and `ignore`d words (places)."""
    words = [t for t in toks if len(t) > 1 and not t.isdigit() and t not in ignore]
    grams = set(words)
    grams.update(f"{a} {b}" for a, b in itertools.pairwise(words))
    return grams


@dataclass(frozen=True, slots=True)
class ModelResult:
    """Posterior probabilities by sector, and the known features they came from."""

    probabilities: dict[str, float]
    present: tuple[str, ...]


class SectorModel:
    """Log-probabilities compiled from per-sector document and feature counts."""

    def __init__(
        self,
        doc_counts: dict[str, int],
        feature_counts: dict[str, dict[str, int]],
        alpha: float = DEFAULT_ALPHA,
        ignore: frozenset[str] = frozenset(),
    ) -> None:
        self.alpha = alpha
        self.ignore = ignore
        self.doc_counts = dict(sorted(doc_counts.items()))
        self.feature_counts = {
            f: dict(sorted(c.items())) for f, c in sorted(feature_counts.items())
        }
        self.sectors = list(self.doc_counts)
        vocabulary = len(self.feature_counts)
        totals: dict[str, int] = defaultdict(int)
        for counts in self.feature_counts.values():
            for sector, n in counts.items():
                totals[sector] += n
        # A uniform prior: the corpus mix (many BPJS letters) is not the SMS mix.
        denominator = {s: math.log(totals[s] + alpha * vocabulary) for s in self.sectors}
        self._unseen = {s: math.log(alpha) - denominator[s] for s in self.sectors}
        # Per feature: the gain over "unseen" for the sectors that saw it.
        self._gain = {
            feature: {s: math.log(n + alpha) - math.log(alpha) for s, n in counts.items()}
            for feature, counts in self.feature_counts.items()
        }
        # Per feature: its log-likelihood averaged over sectors (the explanation's baseline).
        mean_unseen = sum(self._unseen.values()) / len(self.sectors)
        self._mean = {
            feature: mean_unseen + sum(gains.values()) / len(self.sectors)
            for feature, gains in self._gain.items()
        }

    # -------------------------------------------------------------- training
    @classmethod
    def train(
        cls,
        documents: Iterable[tuple[Sequence[str], str]],
        ignore: frozenset[str] = frozenset(),
        alpha: float = DEFAULT_ALPHA,
    ) -> SectorModel:
        """Count features per sector over (tokens, sector) pairs, skipping `ignore`d words."""
        doc_counts: Counter[str] = Counter()
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for toks, sector in documents:
            doc_counts[sector] += 1
            for feature in features(toks, ignore):
                counts[feature][sector] += 1
        kept = {f: dict(c) for f, c in counts.items() if sum(c.values()) >= _MIN_DF}
        return cls(dict(doc_counts), kept, alpha, ignore)

    # ---------------------------------------------------------- persistence
    def to_json(self) -> str:
        """Sorted, integer-only JSON: the same corpus always gives the same bytes.

        Each feature maps to a flat [sector index, count, ...] list: a third of
        the size of nested objects, for a file that is committed.
        """
        index = {sector: n for n, sector in enumerate(self.sectors)}
        packed = {
            feature: [v for sector, n in counts.items() for v in (index[sector], n)]
            for feature, counts in self.feature_counts.items()
        }
        data = {
            "format": FORMAT_VERSION,
            "alpha": self.alpha,
            "doc_counts": self.doc_counts,
            "features": packed,
        }
        body = json.dumps(data, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
        # One feature per line keeps a retrained model's diff readable.
        return body.replace('],"', '],\n"') + "\n"

    @classmethod
    def from_file(cls, path: Path, ignore: frozenset[str] = frozenset()) -> SectorModel:
        """Load a trained model; `ignore` must be the set it was trained with."""
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT_VERSION:
            raise ValueError(f"{path}: unknown sector model format {data.get('format')!r}")
        sectors = sorted(data["doc_counts"])
        counts = {
            feature: {sectors[i]: n for i, n in zip(flat[::2], flat[1::2], strict=True)}
            for feature, flat in data["features"].items()
        }
        return cls(data["doc_counts"], counts, data["alpha"], ignore)

    # -------------------------------------------------------------- scoring
    def predict(self, toks: Sequence[str]) -> ModelResult | None:
        """Posterior over sectors for a tokenised text; None when no known feature occurs."""
        present = [f for f in features(toks, self.ignore) if f in self._gain]
        if not present:
            return None
        log_scores = {s: len(present) * self._unseen[s] for s in self.sectors}
        for feature in present:
            for sector, gain in self._gain[feature].items():
                log_scores[sector] += gain
        top = max(log_scores.values())
        exp = {s: math.exp(v - top) for s, v in log_scores.items()}
        total = sum(exp.values())
        return ModelResult({s: v / total for s, v in exp.items()}, tuple(sorted(present)))

    def explain(self, sector: str, present: Sequence[str]) -> tuple[str, ...]:
        """The features of a text that favour `sector` most over the average sector."""
        if sector not in self._unseen:
            return ()
        lifts = {
            feature: self._gain[feature].get(sector, 0.0)
            + self._unseen[sector]
            - self._mean[feature]
            for feature in present
        }
        ranked = sorted(present, key=lambda f: (-lifts[f], f))
        return tuple(f for f in ranked[:_EXPLAIN_WORDS] if lifts[f] > 0)
