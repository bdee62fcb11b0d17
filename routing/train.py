"""Train the sector model on the whole development corpus and write it as data.

    python -m routing.train [--corpus PATH] [--out PATH]

The output (config/routing/sector_model.json) is committed: production has no
corpus, and the file is deterministic (sorted integer counts), so a re-run on
the same corpus and code changes no byte. Run it after changing the corpus
labels (corpus_labels.toml) or the features (routing/model.py), and re-run
`python -m routing.evaluate` to see the cross-validated effect.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from routing.corpus import CorpusItem, CorpusLabeler, is_sector_labelled
from routing.engine import DEFAULT_CONFIG_DIR, load_regions
from routing.model import SectorModel
from routing.sectors import SectorRules
from routing.text import tokens

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "data" / "lapor_corpus_2017.txt"
DEFAULT_MODEL = DEFAULT_CONFIG_DIR / "routing" / "sector_model.json"
LABELS = DEFAULT_CONFIG_DIR / "routing" / "corpus_labels.toml"


def train(items: Sequence[CorpusItem], ignore: frozenset[str]) -> SectorModel:
    """A model from the sector-labelled items (salutation removed), without `ignore`d words."""
    documents = ((tokens(i.text), i.sector) for i in items if is_sector_labelled(i))
    return SectorModel.train(documents, ignore)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL)
    args = parser.parse_args(argv)
    rules = SectorRules.from_file(DEFAULT_CONFIG_DIR / "routing" / "sectors.toml")
    _, regions = load_regions(DEFAULT_CONFIG_DIR, rules)
    items = CorpusLabeler.from_file(LABELS, regions=None).items(args.corpus)
    model = train(items, regions.place_words())
    args.out.write_text(model.to_json(), encoding="utf-8")
    print(
        f"{args.out}: {sum(model.doc_counts.values())} documents, "
        f"{len(model.feature_counts)} features, {args.out.stat().st_size // 1024} KiB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
