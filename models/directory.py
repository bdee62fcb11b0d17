"""The directory's version: a row of `counters` that moves with every change of the agencies
or their officers made through models.admin, in the same transaction as the change.

Running processes keep what they derive from the directory (the router's agencies,
handlers/router.py; who is an officer, models/officers.py; the agencies a filing names,
below) and read it again only when the version moved. A worker's group reads the version
once (a column of its claim) for all of them. An edit made by hand in SQL is seen after a
restart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Connection, ScalarSelect, event, select, text
from sqlalchemy.orm import Session

from models.agencies import Agency
from models.complaints import Counter

AGENCIES_VERSION = "agencies"  # the counters row (named when it covered the agency table only)
_VERSION = select(Counter.value).where(Counter.name == AGENCIES_VERSION)
_READ = "directory_version"  # session.info: the version this transaction read
T = TypeVar("T")


def agencies_version(session: Session) -> int:
    """The directory's version (0 before its first change), read once a transaction."""
    version = session.info.get(_READ)
    if version is None:
        version = session.info[_READ] = session.scalar(_VERSION) or 0
    return version


def version_column() -> ScalarSelect[int]:
    """The version as a column of another statement (the first of a transaction), so that
    reading it costs no round trip of its own; hand what it read to `read_with`."""
    return _VERSION.scalar_subquery()


def read_with(session: Session, version: int | None) -> None:
    """The version a statement of this transaction read through `version_column`."""
    session.info[_READ] = version or 0


def agencies_changed(session: Session | Connection) -> None:
    """Bump the version in the caller's transaction: it commits, or not, with the change."""
    session.execute(
        text(
            "INSERT INTO counters (name, value) VALUES (:name, 1)"
            " ON CONFLICT (name) DO UPDATE SET value = counters.value + 1"
        ),
        {"name": AGENCIES_VERSION},
    )
    session.info.pop(_READ, None)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_version(session: Session) -> None:
    """The next transaction reads it again."""
    session.info.pop(_READ, None)


class Kept(Generic[T]):
    """Something a process derives from the directory, read again when the version moved.

    Read after the version, in the same transaction: at worst newer than the
    version it is kept for, never older.
    """

    def __init__(self, load: Callable[[Session], T]) -> None:
        self._load = load
        self._kept: tuple[int, T] | None = None

    def __call__(self, session: Session) -> T:
        version = agencies_version(session)
        kept = self._kept
        if kept is None or kept[0] != version:
            kept = self._kept = (version, self._load(session))
        return kept[1]


@dataclass(frozen=True)
class AgencyRef:
    """What a new complaint needs of its agency: its row, code and name."""

    id: int
    code: str
    name: str


_ACTIVE = select(Agency.id, Agency.code, Agency.name).where(Agency.active)


def _active_agencies(session: Session) -> dict[str, AgencyRef]:
    return {row.code: AgencyRef(row.id, row.code, row.name) for row in session.execute(_ACTIVE)}


# The active agencies by code: a group's filing names a few of them, and reading those cost
# a statement a group.
active_agencies = Kept(_active_agencies)
