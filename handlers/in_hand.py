"""What a worker process is filing, noted on the machine's disk until it commits.

A message whose handling kills the worker process (out of memory, a crash
in C code) rolls back with its whole group: the sweep hands it out again,
it kills the next worker, and the group's other messages wait with it, for
ever. Each process notes the ids it is filing in a file of its own
(`<LAPOR_VAR_DIR>/filing/<pid>-<start>`, a few microseconds a group: no
network, no fsync) and removes it once the group has committed or rolled back. A worker
starting on the machine reads the notes of processes that are gone
(handlers.jobs.recover_interrupted): what was filed as a group is filed again
one message at a time, and a message that killed its worker twice alone is
the one: it is failed visibly, and its sender told.
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

GROUP = 0  # the attempt of a note for a group; 1, 2...: filing one message alone


@dataclass(frozen=True)
class Interrupted:
    """A dead process's note: the ids it was filing, as a group or alone (which attempt)."""

    process: str
    attempt: int
    ids: list[int]


@cache
def _folder() -> Path:
    folder = get_settings().var_dir / "filing"
    with contextlib.suppress(OSError):  # reported by the first note that cannot be written
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def _started(pid: int) -> str | None:
    """When process `pid` started (clock ticks after boot, Linux), None if there is none.

    With the pid, it names one process for good: a container's worker is pid 1
    again after a restart, and must see its predecessor's note as a dead one's.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:  # no /proc: the pid alone, as well as it goes
        return _pid_alive(pid)
    return stat.rsplit(")", 1)[1].split()[19]  # field 22; the name before ")" may hold spaces


def _pid_alive(pid: int) -> str | None:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # another user's process: alive
        pass
    return "0"


def _me() -> str:
    return _name(os.getpid())


@cache
def _name(pid: int) -> str:
    return f"{pid}-{_started(pid)}"


def note(ids: list[int], *, attempt: int) -> None:
    """This process files `ids` now: as a group (GROUP), or one message alone (1, 2...).

    A safety net, not a condition: a disk that refuses the note (full, read-only) must
    not stop the filing, so it is logged and the filing goes on without it.
    """
    try:
        (_folder() / _me()).write_text(" ".join(map(str, [attempt, *ids])))
    except OSError as exc:
        log.warning("filing note not written (%s): a worker killed now is not traced", exc)


def done() -> None:
    """What was noted has committed or rolled back: no longer in hand."""
    try:
        (_folder() / _me()).unlink(missing_ok=True)
    except OSError as exc:
        log.warning("filing note not removed: %s", exc)


def _dead(name: str) -> bool:
    """Is the process that wrote note `name` (pid-start) gone?"""
    pid, _, started = name.partition("-")
    return name != _me() and _started(int(pid)) != started


def take_interrupted() -> list[Interrupted]:
    """The notes of processes on this machine that died filing; each is taken once."""
    found: list[Interrupted] = []
    for path in sorted(_folder().iterdir()):
        if not path.name.replace("-", "").isdecimal() or not _dead(path.name):
            continue
        taken = path.with_name(f"{path.name}.taken-by-{_me()}")
        try:
            path.rename(taken)  # atomic: two workers starting at once take it once
        except FileNotFoundError:
            continue
        try:
            attempt, *ids = map(int, taken.read_text().split())
            found.append(Interrupted(path.name, attempt, ids))
        except ValueError:  # cut short as its process died: nothing to go on
            log.warning("unreadable filing note of process %s", path.name)
        taken.unlink(missing_ok=True)
    return found
