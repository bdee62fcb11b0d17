"""Score the router: sector and kabupaten/kota accuracy on the corpus and the SMS sets.

    python -m routing.evaluate [--corpus PATH] [--sms PATH ...] [--folds 5] [--rules-only]
                               [--errors N]

Corpus labels come from the "Yth. <agency>," salutation, which is removed
before routing (routing/corpus.py). The sector model is learned from the same
corpus, so corpus sector accuracy is k-fold cross-validated: every text is
scored by a model trained on the other folds only. What remains optimistic:
rule terms were added after reading corpus misses, and the blend settings and
smoothing were chosen on these folds. The first SMS set was written by the
rules' author; the holdout set was written later and scored before any tuning.
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean

from routing.corpus import CorpusItem, CorpusLabeler, is_sector_labelled
from routing.engine import Router
from routing.text import normalise
from routing.train import DEFAULT_CORPUS, LABELS, train

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SMS = REPO / "tests" / "routing" / "sms_labelled.tsv"
DEFAULT_HOLDOUT = REPO / "tests" / "routing" / "sms_holdout.tsv"
NO_PLACE = "-"
UNKNOWN = "LAINNYA"


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

    def cell(self) -> str:
        return f"{self.accuracy:.1%} ({self.correct}/{self.total})" if self.total else "-"


@dataclass
class Report:
    """The scores of one evaluation set: the README table's row."""

    name: str
    sector: Score
    kab_kota: Score
    no_place: Score | None = None
    details: list[Score] = field(default_factory=list)
    folds: list[Score] = field(default_factory=list)


def _same_region(predicted: str | None, label: str) -> bool:
    """A kabupaten/kota label is met by it or anything inside it; a province label exactly."""
    if predicted is None:
        return False
    return predicted[: len(label)] == label if len(label) == 2 else predicted[:5] == label


def stratified_folds(items: Sequence[CorpusItem], k: int) -> list[list[CorpusItem]]:
    """k folds with each sector spread evenly, assigned by tracking id (deterministic)."""
    by_sector: dict[str, list[CorpusItem]] = defaultdict(list)
    for item in sorted(items, key=lambda i: i.tracking_id):
        by_sector[item.sector or ""].append(item)
    folds: list[list[CorpusItem]] = [[] for _ in range(k)]
    for sector in sorted(by_sector):
        for n, item in enumerate(by_sector[sector]):
            folds[n % k].append(item)
    return folds


def score_corpus(router: Router, path: Path, k: int = 5) -> Report:
    """Cross-validated sector scores (when a model is used) and kabupaten/kota scores."""
    items = CorpusLabeler.from_file(LABELS, router.regions).items(path)
    labelled = [item for item in items if is_sector_labelled(item)]
    has_model = router.classifier.model is not None
    cross_validate = has_model and k > 1
    if cross_validate:
        how = f"{k}-fold CV"
    else:
        how = "model trained on it: optimistic" if has_model else "rules only"
    report = Report(
        f"corpus 2017, DESIGN sectors ({how})",
        sector=Score("sector, agency in a DESIGN sector"),
        kab_kota=Score("kab/kota, where the text names the place"),
        details=[
            Score("sector, incl. agencies outside (-> LAINNYA)"),
            Score("kab/kota, every agency naming a kab/kota"),
        ],
    )
    # Items without a sector label count for kab/kota only: the shipped router scores them.
    _score_items(router, [i for i in items if not is_sector_labelled(i)], report, None)
    if not cross_validate:
        _score_items(router, labelled, report, None)
        return report
    for n, fold in enumerate(stratified_folds(labelled, k), start=1):
        fold_ids = {item.tracking_id for item in fold}
        rest = [item for item in labelled if item.tracking_id not in fold_ids]
        fold_router = router.with_sector_model(train(rest, router.regions.place_words()))
        report.folds.append(Score(f"fold {n}"))
        _score_items(fold_router, fold, report, report.folds[-1])
    return report


def _score_items(
    router: Router, items: Sequence[CorpusItem], report: Report, fold: Score | None
) -> None:
    with_other, kab_all = report.details
    for item in items:
        decision = router.route(item.text)
        miss = f"{item.tracking_id} [{item.agency}] -> {decision.explanation}"
        if is_sector_labelled(item):
            ok = decision.sector == item.sector
            with_other.add(ok, miss)
            if item.sector != UNKNOWN:
                report.sector.add(ok, miss)
                if fold is not None:
                    fold.add(ok, miss)
        if item.kab_kota:
            ok = _same_region(decision.region_code, item.kab_kota)
            kab_all.add(ok, miss)
            if router.regions.names_in_text(item.kab_kota, normalise(item.text)):
                report.kab_kota.add(ok, miss)


def score_sms(router: Router, path: Path) -> Report:
    """Sector, region and "asks where" scores on a TSV of text, sector, region code or "-"."""
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
                region.add(
                    _same_region(decision.region_code, want_region), f"want {want_region}: {miss}"
                )
    return Report(path.name, sector, region, no_place)


def table(reports: Sequence[Report]) -> str:
    """The Markdown table the README shows."""
    lines = [
        "| set | sector accuracy | kab/kota accuracy (place named) | no place -> asks where |",
        "|---|---|---|---|",
    ]
    for r in reports:
        asks = r.no_place.cell() if r.no_place else "-"
        lines.append(f"| {r.name} | {r.sector.cell()} | {r.kab_kota.cell()} | {asks} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--sms", type=Path, nargs="*", default=[DEFAULT_SMS, DEFAULT_HOLDOUT])
    parser.add_argument("--folds", type=int, default=5, help="1: score the shipped model")
    parser.add_argument("--rules-only", action="store_true", help="route without the model")
    parser.add_argument("--errors", type=int, default=0, help="print up to N misses per score")
    args = parser.parse_args(argv)
    router = Router.from_config()
    if args.rules_only:
        router = router.with_sector_model(None)
    reports = [score_corpus(router, args.corpus, args.folds)]
    reports += [score_sms(router, path) for path in args.sms]
    print(table(reports))
    for report in reports:
        print(f"\n{report.name}")
        if report.folds:
            accuracies = [fold.accuracy for fold in report.folds]
            per_fold = ", ".join(f"{a:.1%}" for a in accuracies)
            print(f"  sector per fold: {per_fold}; mean {mean(accuracies):.1%}")
        scores = [report.sector, report.kab_kota, *report.details]
        for score in [*scores, *([report.no_place] if report.no_place else [])]:
            print(f"  {score.name:<48} {score.cell()}")
            for miss in score.misses[: args.errors]:
                print(f"      {miss}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
