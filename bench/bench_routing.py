"""Routing throughput: decisions per second on one core, with the index built once.

    python bench/bench_routing.py [--seconds 5]

Texts are both labelled SMS sets (short, informal) cycled; the first pass is
timed separately because it fills the fuzzy-match cache. Every decision runs
the rules, the sector model and region detection.
"""

from __future__ import annotations

import argparse
import csv
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from routing.engine import Router  # noqa: E402

SMS_SETS = [REPO / "tests" / "routing" / name for name in ("sms_labelled.tsv", "sms_holdout.tsv")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    texts = []
    for path in SMS_SETS:
        with path.open(encoding="utf-8", newline="") as handle:
            texts += [row[0] for row in csv.reader(handle, delimiter="\t")]

    started = time.perf_counter()
    router = Router.from_config()
    build = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    started = time.perf_counter()
    for text in texts:
        router.route(text)
    cold = len(texts) / (time.perf_counter() - started)

    done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < args.seconds:
        for text in texts:
            router.route(text)
        done += len(texts)
    warm = done / (time.perf_counter() - started)

    print(f"index build          {build:8.2f} s  ({len(router.agencies)} agencies)")
    print(f"max RSS after build  {rss_mb:8.0f} MB")
    print(f"first pass           {cold:8.0f} decisions/s  ({len(texts)} texts)")
    print(f"steady state         {warm:8.0f} decisions/s  ({done} decisions)")


if __name__ == "__main__":
    main()
