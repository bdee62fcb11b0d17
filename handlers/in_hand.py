"""What a worker process is filing, noted on the machine's disk until it commits.

A message whose handling kills the worker process (out of memory, a crash
in C code) rolls back with its whole group: the sweep hands it out again,
it kills the next worker, and the group's other messages wait with it, for
ever. Each process notes the ids it is filing in a file of its own
(`<LAPOR_VAR_DIR>/filing/<pid>`, a few microseconds a group: no network, no
fsync) and removes it once the group has committed or rolled back. A worker
starting on the machine reads the notes of processes that are gone
(handlers.jobs.recover_interrupted): what was filed as a group is filed again
one message at a time, and a message that was being filed alone when its
process died is the one: it is failed visibly, and its sender told.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from config.settings import get_settings

log = logging.getLogger(__name__)

ALONE, GROUP = "alone", "group"


@dataclass(frozen=True)
class Interrupted:
    """A dead process's note: the ids it was filing, alone (one message) or as a group."""

    pid: int
    alone: bool
    ids: list[int]


@cache
def _folder() -> Path:
    folder = get_settings().var_dir / "filing"
    with contextlib.suppress(OSError):  # reported by the first note that cannot be written
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def note(ids: list[int], *, alone: bool) -> None:
    """This process files `ids` now (alone: one message on its own, after a group failed).

    A safety net, not a condition: a disk that refuses the note (full, read-only) must
    not stop the filing, so it is logged and the filing goes on without it.
    """
    text = " ".join([ALONE if alone else GROUP, *map(str, ids)])
    try:
        (_folder() / str(os.getpid())).write_text(text)
    except OSError as exc:
        log.warning("filing note not written (%s): a worker killed now is not traced", exc)


def done() -> None:
    """What was noted has committed or rolled back: no longer in hand."""
    try:
        (_folder() / str(os.getpid())).unlink(missing_ok=True)
    except OSError as exc:
        log.warning("filing note not removed: %s", exc)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def take_interrupted() -> list[Interrupted]:
    """The notes of processes on this machine that died filing; each is taken once."""
    found: list[Interrupted] = []
    for path in sorted(_folder().iterdir()):
        if not path.name.isdecimal() or int(path.name) == os.getpid() or _alive(int(path.name)):
            continue
        taken = path.with_name(f"{path.name}.taken-by-{os.getpid()}")
        try:
            path.rename(taken)  # atomic: two workers starting at once take it once
        except FileNotFoundError:
            continue
        try:
            kind, *ids = taken.read_text().split()
            found.append(Interrupted(int(path.name), kind == ALONE, [int(i) for i in ids]))
        except ValueError:  # cut short as its process died: nothing to go on
            log.warning("unreadable filing note of process %s", path.name)
        taken.unlink(missing_ok=True)
    return found
