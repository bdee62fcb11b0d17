"""Score the router: sector and kabupaten/kota accuracy on the corpus and the SMS set.

    python -m routing.evaluate [--corpus PATH] [--sms PATH] [--errors N]

Corpus labels come from the "Yth. <agency>," salutation, which is removed
before routing (routing/corpus.py). Nothing statistical is learned from the
corpus, but a few rule terms were added after reading its misses (it is the
development set), and the SMS set was written by the rules' author: both
figures are optimistic for unseen traffic.
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from routing.corpus import SKIP, CorpusLabeler
from routing.engine import DEFAULT_CONFIG_DIR, Router
from routing.text import normalise

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "data" / "lapor_corpus_2017.txt"
DEFAULT_SMS = REPO / "tests" / "routing" / "sms_labelled.tsv"
NO_PLACE = "-"


@dataclass
class Score:
    """Correct out of total, with the misses kept for inspection."""

    name: str
    correct: int = 0
    total: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, ok: bool, miss: str) -> None:
        self.total += 1
        self.correct += ok
        if not ok:
            self.misses.append(miss)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def line(self) -> str:
        return f"  {self.name:<48} {self.accuracy:6.1%}  ({self.correct}/{self.total})"


def _same_region(predicted: str | None, label: str) -> bool:
    """A kabupaten/kota label is met by it or anything inside it; a province label exactly."""
    if predicted is None:
        return False
    return predicted[: len(label)] == label if len(label) == 2 else predicted[:5] == label


def score_corpus(router: Router, path: Path) -> list[Score]:
    labeler = CorpusLabeler.from_file(
        DEFAULT_CONFIG_DIR / "routing" / "corpus_labels.toml", router.regions
    )
    in_scope = Score("sector, agency in a DESIGN sector")
    with_other = Score("sector, incl. agencies outside (-> LAINNYA)")
    kab_named = Score("kab/kota, where the text names the place")
    kab_all = Score("kab/kota, every agency naming a kab/kota")
    for item in labeler.items(path):
        decision = router.route(item.text)
        miss = f"{item.tracking_id} [{item.agency}] -> {decision.explanation}"
        if item.sector not in (None, SKIP):
            ok = decision.sector == item.sector
            with_other.add(ok, miss)
            if item.sector != "LAINNYA":
                in_scope.add(ok, miss)
        if item.kab_kota:
            ok = _same_region(decision.region_code, item.kab_kota)
            kab_all.add(ok, miss)
            if router.regions.names_in_text(item.kab_kota, normalise(item.text)):
                kab_named.add(ok, miss)
    return [in_scope, with_other, kab_named, kab_all]


def score_sms(router: Router, path: Path) -> list[Score]:
    sector = Score("sector")
    region = Score("kab/kota (or province), where a place is named")
    no_place = Score("no place named -> needs_location")
    with path.open(encoding="utf-8", newline="") as handle:
        for text, want_sector, want_region in csv.reader(handle, delimiter="\t"):
            decision = router.route(text)
            miss = f"{text!r} -> {decision.sector} {decision.region_code} ({decision.explanation})"
            sector.add(decision.sector == want_sector, f"want {want_sector}: {miss}")
            if want_region == NO_PLACE:
                no_place.add(decision.region_code is None, miss)
            else:
                region.add(_same_region(decision.region_code, want_region),
                           f"want {want_region}: {miss}")
    return [sector, region, no_place]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--sms", type=Path, default=DEFAULT_SMS)
    parser.add_argument("--errors", type=int, default=0, help="print up to N misses per score")
    args = parser.parse_args(argv)
    router = Router.from_config()
    for title, scores in (
        (f"corpus {args.corpus}", score_corpus(router, args.corpus)),
        (f"SMS set {args.sms}", score_sms(router, args.sms)),
    ):
        print(title)
        for score in scores:
            print(score.line())
            for miss in score.misses[: args.errors]:
                print(f"      {miss}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
