"""The CPU of one batch, in-process: the link's database thread and a worker's filing.

    python bench/bench_batches.py [--rounds 100] [--batches 5,50] [--texts 2000] [--group 50] [--vary]
        [--drain 0]

bench_smpp.py measures the whole path, but on a shared 2-core machine its
figures move by a quarter from one minute to the next. This one runs the
same code in this process, on PostgreSQL as in production (a throwaway
database on TEST_POSTGRES_URL's server, migrated and seeded), one batch at a
time, and reports what a message costs, where the end-to-end run cannot
tell a 10% change from the noise:

- the link's database thread (gateway.smpp.dbworker.DbWorker) storing a
  batch of MOs, then the send outcomes of as many replies, then their
  delivery receipts, and the link's feeder claiming as many queued replies
  (gateway.smpp.link): Python CPU a message of each, and PostgreSQL's CPU
  for the four (its backends of the run's database);
- a worker filing stored MOs (a group of handlers.jobs.process_inbound, groups of
  `--group`): Python CPU and Python function calls a filed text (the calls
  repeat exactly from run to run);
- with `--drain N`, a worker filing a backlog of N stored MOs, as after an
  outage: Python and PostgreSQL CPU and wall time a text.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
from collections.abc import Callable

from bench_smpp import CpuMeter, analyze, complaint_texts
from production import REDIS_URL, production_env


def _cpu(work: Callable[[], None]) -> float:
    started = time.process_time()
    work()
    return time.process_time() - started


def link_thread(
    rounds: int, batch: int, texts: list[str], meter: CpuMeter, settle: Callable[[], None]
) -> dict[str, float]:
    """ms of CPU a message: stored MO, sent outcome, receipt (Python), and PostgreSQL's.

    `settle` runs after the warm-up (bench_smpp.analyze: a deployment's statistics).
    """
    from sqlalchemy import update

    from gateway.smpp.config import LinkConfig
    from gateway.smpp.dbworker import DbWorker
    from gateway.smpp.mo import MoMessage
    from gateway.smpp.outcomes import Delivered, Outcome
    from gateway.smpp.receipts import Receipt
    from models.base import utcnow
    from models.db import session_scope
    from models.inbound import InboundMessage, InboundState
    from models.outbox import MESSAGES, OutboxStatus, claim_outbound

    link = LinkConfig(name="bench", host="127.0.0.1", port=1, system_id="b", password="b")
    thread = DbWorker(link, on_inbound=lambda ids: None, stop=threading.Event())

    def sending(first: int, status: OutboxStatus = OutboxStatus.SENDING) -> list[int]:
        rows = [
            {
                "recipient": f"62812{n:08d}",
                "sender": "1708",
                "text": "LAPOR! Laporan Anda 1234567 diterima.",
                "template": "ack_new",
                "channel": "smpp",
                "link": "bench",
                "idempotency_key": f"bench:{n}",
                "status": status,
                "attempts": 1,
                "next_attempt_at": utcnow(),
            }
            for n in range(first, first + batch)
        ]
        with session_scope() as session:
            return list(session.scalars(MESSAGES.insert().returning(MESSAGES.c.id), rows))

    def claim() -> None:  # the feeder's, in its own transaction
        with session_scope() as session:
            claim_outbound(session, channel="smpp", link="bench", limit=batch)

    spent = {"MO": 0.0, "sent": 0.0, "receipt": 0.0, "claim": 0.0}
    waited = 0.0  # wall time of a batch holding both MOs and send outcomes, as a busy link's

    def mixed(first: int) -> None:
        nonlocal waited
        ids = sending(first)
        items = [
            *(Outcome(i, "sent", (format(i, "x"),)) for i in ids),
            *(
                Delivered(
                    MoMessage(f"62813{n:08d}", "1708", 0, b"Jalan rusak", None), lambda status: None
                )
                for n in range(first, first + batch)
            ),
        ]
        started = time.perf_counter()
        thread._process(items)
        waited += time.perf_counter() - started

    def one_round(number: int) -> None:
        first = (number + batch * 1000) * batch  # numbers and keys of their own for each size
        ids = sending(first)
        mos = [
            MoMessage(f"62812{n:08d}", "1708", 0, texts[n % len(texts)].encode()[:160], None)
            for n in range(first, first + batch)
        ]
        kinds = {
            "MO": [Delivered(mo, lambda status: None) for mo in mos],
            "sent": [Outcome(i, "sent", (format(i, "x"),)) for i in ids],
            "receipt": [
                Delivered(Receipt(format(i, "x"), "delivered", None), lambda status: None)
                for i in ids
            ],
        }
        for kind, items in kinds.items():
            spent[kind] += _cpu(lambda items=items: thread._process(items))
        sending(first + batch * 1000 * 2000, OutboxStatus.QUEUED)
        spent["claim"] += _cpu(claim)
        mixed(first + batch * 1000 * 1000)

    for number in range(10):  # warm-up: caches, prepared statements
        one_round(number)
    settle()
    spent = dict.fromkeys(spent, 0.0)
    waited = 0.0
    meter.start()
    for number in range(10, 10 + rounds):
        one_round(number)
    postgres = meter.spent().get("postgres", 0.0)
    with session_scope() as session:  # handled: the worker's figures file their own MOs only
        session.execute(
            update(InboundMessage)
            .where(InboundMessage.state == InboundState.RECEIVED)
            .values(state=InboundState.PROCESSED)
        )
    messages = rounds * batch
    return {
        **{kind: 1000 * s / messages for kind, s in spent.items()},
        "postgres": 1000 * postgres / messages,
        "wall ms a batch of MOs and sent outcomes": 1000 * waited / rounds,
    }


def store_mos(texts: list[str], key: str, numbers: str, which: range) -> None:
    """MOs number `which` of the link `bench`, stored and waiting: external ids `key:n`,
    senders `numbers` followed by n."""
    from models.base import utcnow
    from models.db import session_scope
    from models.inbound import InboundMessage, InboundState

    rows = [
        {
            "channel": "smpp",
            "link": "bench",
            "external_id": f"{key}:{n}",
            "sender": f"{numbers}{n:08d}",
            "recipient": "1708",
            "text": texts[n % len(texts)],
            "received_at": utcnow(),
            "state": InboundState.RECEIVED,
        }
        for n in which
    ]
    with session_scope() as session:
        session.execute(InboundMessage.__table__.insert(), rows)


def filing(
    count: int,
    group: int,
    vary: bool,
    texts: list[str],
    meter: CpuMeter,
    settle: Callable[[], None],
) -> tuple[float, float, float]:
    """A worker filing `count` stored MOs, `group` at a time: (ms of CPU, PostgreSQL's ms of
    CPU, Python calls) a text.

    `vary`: groups of 1 to 2 x `group` - 1 (the same sequence every run), as a paced link's
    traffic makes them, instead of all alike: every size is another SQL text for the
    multi-row statements, to convert, prepare and plan.
    """
    from handlers.jobs import _process_group

    def file_group() -> None:  # one group, as a job files it (not the job's closing empty claim)
        _process_group(None, [])

    def store(first: int, size: int) -> None:
        store_mos(texts, "bench", "62813", range(first, first + size))

    sizes = random.Random(group)
    stored = 0

    def next_group() -> int:
        """Store the next group; its size."""
        nonlocal stored
        size = sizes.randint(1, 2 * group - 1) if vary else group
        store(stored, size)
        stored += size
        return size

    calls = 0

    def tally(frame: object, event: str, arg: object) -> None:
        nonlocal calls
        calls += event == "call"

    for _ in range(5):  # warm-up
        next_group()
        file_group()
    settle()
    spent = postgres = 0.0
    filed = 0
    while filed < count:
        filed += next_group()
        meter.start()
        spent += _cpu(file_group)
        postgres += meter.spent().get("postgres", 0.0)
    profiled = 0
    while profiled < count:
        profiled += next_group()
        sys.setprofile(tally)
        file_group()
        sys.setprofile(None)
    return 1000 * spent / filed, 1000 * postgres / filed, calls / profiled


def drain(backlog: int, texts: list[str], meter: CpuMeter) -> tuple[float, float, float]:
    """Workers back after an outage: `backlog` stored MOs filed a group at a time, as one
    job does (ms of CPU, PostgreSQL's ms of CPU, wall ms) a text."""
    from handlers.jobs import _process_group

    store_mos(texts, "drain", "62814", range(backlog))
    filed: list[int] = []
    started = time.perf_counter()
    meter.start()
    spent = 0.0
    while True:
        claimed: list[int] = []
        spent += _cpu(lambda claimed=claimed: _process_group(None, claimed))
        if not claimed:
            break
        filed += claimed
    wall = time.perf_counter() - started
    postgres = meter.spent().get("postgres", 0.0)
    assert len(filed) == backlog, (len(filed), backlog)
    return 1000 * spent / backlog, 1000 * postgres / backlog, 1000 * wall / backlog


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100, help="batches of each kind")
    parser.add_argument("--batches", default="5,50", help="link batch sizes, comma-separated")
    parser.add_argument("--texts", type=int, default=2000, help="MOs the worker files")
    parser.add_argument("--group", type=int, default=50, help="MOs a worker's group")
    parser.add_argument(
        "--vary", action="store_true", help="groups of 1 to 2 x --group - 1 MOs, not all alike"
    )
    parser.add_argument("--drain", type=int, default=0, help="also file a backlog of this many")
    args = parser.parse_args()
    with production_env(REDIS_URL=os.environ.get("BENCH_REDIS_URL", REDIS_URL)) as env:
        os.environ.update(DATABASE_URL=env["DATABASE_URL"], REDIS_URL=env["REDIS_URL"])
        from handlers.router import warm_up
        from models.db import get_engine, reconfigure

        reconfigure()
        warm_up()
        texts = complaint_texts()
        meter = CpuMeter(env["DATABASE_URL"].rsplit("/", 1)[1])
        for batch in (int(b) for b in args.batches.split(",")):
            costs = link_thread(args.rounds, batch, texts, meter, lambda: analyze(env))
            shares = ", ".join(f"{kind} {ms:.3f}" for kind, ms in costs.items())
            print(f"link database thread, batches of {batch:>3}: ms of CPU a message: {shares}")
        ms, postgres, calls = filing(
            args.texts, args.group, args.vary, texts, meter, lambda: analyze(env)
        )
        sizes = f"1-{2 * args.group - 1} (mean {args.group})" if args.vary else f"{args.group}"
        print(
            f"worker filing, groups of {sizes}: {ms:.3f} ms of CPU, postgres {postgres:.3f},"
            f" {calls:.0f} calls a text"
        )
        if args.drain:
            ms, postgres, wall = drain(args.drain, texts, meter)
            print(
                f"worker draining a backlog of {args.drain}: {ms:.3f} ms of CPU, postgres"
                f" {postgres:.3f}, wall {wall:.3f} ms a text"
            )
        get_engine().dispose()


if __name__ == "__main__":
    main()
