"""A message whose filing kills the worker process: its group goes through without it, and
it is failed visibly instead of killing every worker that takes it, for ever."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from models.db import session_scope
from models.inbound import InboundMessage
from models.outbox import OutboundMessage

from channels import store_texts

ROOT = Path(__file__).resolve().parents[2]
# A worker whose filing of one text ends the process, as the kernel's OOM killer or a crash
# in C code does: no exception, no rollback of its own, nothing after it.
DEADLY = """
import os, sys
import handlers.jobs as jobs

real = jobs.handle_group

def handle_group(session, messages):
    if any("RACUN" in m.text for m in messages):
        os._exit(9)
    real(session, messages)

jobs.handle_group = handle_group
jobs.recover_interrupted() if sys.argv[1] == "start" else jobs.process_inbound([])
"""
TEXTS = {
    "+6281234567811": "Jalan rusak berlubang di Kecamatan Sukajadi Kota Bandung",
    "+6281234567812": "RACUN limbah pabrik dibuang ke sungai di Kabupaten Karawang",
    "+6281234567813": "Sampah menumpuk di pasar Kota Bukittinggi sudah seminggu",
}


def _worker(step: str) -> int:
    """A worker process on the test database: `start` (what one does when it starts) or `file`
    (an inbound job); its exit code."""
    done = subprocess.run([sys.executable, "-c", DEADLY, step], cwd=ROOT, env=os.environ)
    return done.returncode


def _states() -> dict[str, tuple[str, bool, str | None]]:
    """sender -> (state, filed as a complaint, error)."""
    with session_scope() as session:
        rows = session.execute(
            select(
                InboundMessage.sender,
                InboundMessage.state,
                InboundMessage.complaint_id,
                InboundMessage.error,
            )
        )
        return {r.sender: (r.state, r.complaint_id is not None, r.error) for r in rows}


def test_a_message_that_kills_its_worker_is_failed_and_its_group_filed(
    db: dict[str, str],
) -> None:
    store_texts(list(TEXTS.items()), "killer")
    assert _worker("file") == 9  # the group of three dies with its worker
    assert {state for state, _, _ in _states().values()} == {"received"}
    # The next worker on the machine files them one at a time: the others go through, the
    # deadly one kills it again, alone; and once more (a worker may die of other causes);
    # the worker after that fails it.
    assert [_worker("start"), _worker("start"), _worker("start")] == [9, 9, 0]
    assert _worker("file") == 0  # what the restarts left waiting is filed as ever
    states = _states()
    assert states["+6281234567811"][:2] == ("processed", True)
    assert states["+6281234567813"][:2] == ("processed", True)
    state, filed, error = states["+6281234567812"]
    assert (state, filed) == ("failed", False) and "worker process died" in (error or "")
    with session_scope() as session:  # the citizen is told their message is safe with us
        told = session.scalars(
            select(OutboundMessage.template).where(OutboundMessage.recipient == "+6281234567812")
        ).all()
    assert told == ["temporary_error"]
    assert not list((Path(db["LAPOR_VAR_DIR"]) / "filing").iterdir())


def test_a_note_is_a_dead_process_s_only_when_that_very_process_is_gone(
    db: dict[str, str],
) -> None:
    """A container's worker is pid 1 after every restart: a note of "pid 1" from before the
    restart is a dead process's, though pid 1 runs. A live worker's note is left alone."""
    from handlers import in_hand

    folder = Path(db["LAPOR_VAR_DIR"]) / "filing"
    folder.mkdir(exist_ok=True)
    alive = subprocess.Popen(["sleep", "30"])
    try:
        live = in_hand._name(alive.pid)
        (folder / live).write_text("0 11 12")
        (folder / f"{os.getpid()}-1").write_text("0 13")  # this pid, an earlier process
        in_hand.note([14], attempt=1)  # this very process, filing now
        assert [(i.process, i.attempt, i.ids) for i in in_hand.take_interrupted()] == [
            (f"{os.getpid()}-1", 0, [13])
        ]
        assert sorted(p.name for p in folder.iterdir()) == sorted([live, in_hand._me()])
    finally:
        in_hand.done()
        alive.kill()
        alive.wait()
