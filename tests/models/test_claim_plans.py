"""A claim reads what is waiting, not the history behind it, even once PostgreSQL plans it generically.

psycopg prepares a statement it runs often, and PostgreSQL may then plan it
once for every parameter value. With the claimed state bound as a parameter
that plan walked the primary key through every message ever handled: a claim
that grows with the table, on every message of a busy link. The history is
analyzed, as autovacuum leaves a running deployment's tables.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, Select, event, literal, text, true
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from gateway.smpp import reassembly
from gateway.smpp.dbworker import BATCH
from handlers import jobs
from models import actions, inbound, outbox
from models.base import utcnow
from models.outbox import OutboundMessage

from support import migrated_pg_database

HISTORY = 20_000
WAITING = 3
# Index pages and the waiting rows' heap pages; a walk through the history reads hundreds.
MOST_BLOCKS = 20


@pytest.fixture(scope="module")
def history() -> Iterator[Engine]:
    with migrated_pg_database() as engine:
        _fill(engine)
        yield engine


def _fill(engine: Engine) -> None:
    """HISTORY handled messages and sent replies, WAITING of each still to do; analyzed."""
    with engine.begin() as conn:
        _inbound(conn, 1, HISTORY)
        _inbound(conn, HISTORY + 1, WAITING, state="received")
        for status, first, count in (("sent", 1, HISTORY), ("queued", HISTORY + 1, WAITING)):
            conn.execute(
                text(
                    "INSERT INTO outbound_messages (recipient, sender, text, template, channel,"
                    " link, status, attempts, next_attempt_at, external_ids, idempotency_key,"
                    " created_at) SELECT '+62812' || g, '1708', 'LAPOR! Laporan #' || g, 'ack_new',"
                    " 'smpp', 'telco', :status, 1, now() - interval '1 minute', '[]', 'k' || g,"
                    " now() FROM generate_series(CAST(:first AS int), CAST(:last AS int)) g"
                ),
                {"status": status, "first": first, "last": first + count - 1},
            )
        conn.execute(  # the sent ones' segments, carrier ids '1'... as receipts name them
            text(
                "INSERT INTO outbound_segments (outbound_id, channel, link, external_id,"
                " created_at) SELECT id, channel, link, id::text, now() FROM outbound_messages"
                " WHERE status = 'sent'"
            )
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def planned(conn: Connection, statement: Select[Any], generic: bool = True) -> tuple[int, int]:
    """(rows, shared blocks read) of `statement` run through its generic plan (or, with
    `generic` False, a plan made for its values, as for its first executions)."""
    dialect = postgresql.dialect(paramstyle="numeric_dollar")
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    values = ", ".join(
        str(
            literal(compiled.params[name]).compile(
                dialect=dialect, compile_kwargs={"literal_binds": True}
            )
        )
        for name in compiled.positiontup or ()
    )
    plan = _plan(conn, str(compiled), values, generic)
    return plan["Actual Rows"], plan["Shared Hit Blocks"] + plan["Shared Read Blocks"]


def generic_plan(conn: Connection, sql: str, values: str | dict[str, str]) -> dict[str, Any]:
    """The executed generic plan (EXPLAIN ANALYZE's JSON) of SQL written for psycopg
    (models.db.driver_sql), `values` as SQL literals (by name for `%(name)s` placeholders)."""
    if isinstance(values, dict):
        names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", sql)))
        sql = re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m[1]) + 1}", sql)
        return _plan(conn, sql, ", ".join(values[name] for name in names), generic=True)
    numbered = sql.split("%s")
    sql = "".join(f"{part}${n}" for n, part in enumerate(numbered[:-1], 1)) + numbered[-1]
    return _plan(conn, sql, values, generic=True)


def _plan(conn: Connection, sql: str, values: str, generic: bool) -> dict[str, Any]:
    if generic:
        conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
    conn.exec_driver_sql(f"PREPARE claim AS {sql}")
    plan = conn.exec_driver_sql(
        f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE claim({values})"
    ).scalar_one()[0]["Plan"]
    conn.rollback()  # the claim's row locks and the prepared statement's session settings
    conn.exec_driver_sql("DEALLOCATE ALL")
    return plan


def nodes(plan: dict[str, Any], node_type: str) -> list[dict[str, Any]]:
    """The plan's nodes of `node_type`, outermost first."""
    own = [plan] if plan["Node Type"] == node_type else []
    return own + [node for child in plan.get("Plans", []) for node in nodes(child, node_type)]


def rows_read(plan: dict[str, Any], table: str) -> int:
    """Rows of `table` the plan's scans fetched, kept or filtered out, over all their loops."""
    own = 0
    if plan.get("Relation Name") == table and "Scan" in plan["Node Type"]:
        fetched = plan["Actual Rows"] + plan.get("Rows Removed by Filter", 0)
        own = (fetched + plan.get("Rows Removed by Index Recheck", 0)) * plan["Actual Loops"]
    return own + sum(rows_read(child, table) for child in plan.get("Plans", []))


def test_a_worker_claims_waiting_messages_without_reading_the_handled_ones(
    history: Engine,
) -> None:
    with history.connect() as conn:
        rows, blocks = planned(conn, jobs.waiting(true(), jobs.GROUP))
    assert rows == WAITING
    assert blocks <= MOST_BLOCKS


def test_a_link_claims_queued_replies_without_reading_the_sent_ones(history: Engine) -> None:
    mine = [OutboundMessage.channel == "smpp", OutboundMessage.link == "telco"]
    with history.connect() as conn:
        rows, blocks = planned(conn, outbox.waiting(mine, 20, utcnow()))
    assert rows == WAITING
    assert blocks <= MOST_BLOCKS


def test_a_claim_from_a_backlog_reads_what_it_claims() -> None:
    """After an outage thousands of messages wait; each claim of a group must read its group,
    not the whole backlog, also through the generic plan a prepared claim gets (the state
    checked again in the UPDATE, or a bound LIMIT, joined the group to every waiting
    message or to the whole table: a drain that grows with the square of the backlog)."""
    backlog = 20 * jobs.GROUP
    with migrated_pg_database() as engine:
        with engine.begin() as conn:  # the handled history, then the backlog
            _inbound(conn, 1, HISTORY)
            _inbound(conn, HISTORY + 1, backlog, state="received")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        sent: list[tuple[str, dict[str, Any]]] = []
        event.listen(engine, "before_cursor_execute", lambda *a: sent.append((a[2], a[3])))
        with Session(engine) as session, session.begin():
            claimed = sorted(message.id for message in jobs.claim_group(session))
        sql, params = sent[-1]
        values = ", ".join(f"'{params[name]}'" for name in re.findall(r"%\((\w+)\)s", sql))
        with engine.connect() as conn:
            plan = generic_plan(conn, re.sub(r"%\((\w+)\)s", "%s", sql), values)
    assert claimed == list(range(HISTORY + 1, HISTORY + jobs.GROUP + 1))
    assert plan["Actual Rows"] == jobs.GROUP
    assert rows_read(plan, "inbound_messages") <= 2 * jobs.GROUP  # picked, then each by its key


def test_a_links_claim_on_postgresql_takes_the_queued_replies_only(history: Engine) -> None:
    with history.connect() as conn:
        plan = generic_plan(
            conn, outbox._CLAIM_LINK_PG, "now(), 'smpp', 'telco', 20, now() + interval '2 min'"
        )
    assert plan["Actual Rows"] == WAITING
    # each queued row once through the partial index, once through the primary key
    assert rows_read(plan, "outbound_messages") <= 2 * WAITING


def test_a_link_finds_redelivered_mos_without_reading_the_window() -> None:
    """Every batch of MOs looks up its dedup keys among the link's messages of the dedup
    window. Statistics a little behind a busy link must not turn that into a walk through
    every message received since they were taken."""
    with migrated_pg_database() as engine:
        with engine.begin() as conn:  # a hundred days of history before today, analyzed
            _inbound(
                conn, 1, 5 * HISTORY, f"now() - interval '1 day' * (1 + 100.0 * g / {5 * HISTORY})"
            )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        with engine.begin() as conn:  # then a burst the statistics do not know
            _inbound(conn, 5 * HISTORY + 1, HISTORY // 2, "now()")
        burst = [f"'mo{5 * HISTORY + n}'" for n in range(1, 2 * BATCH, 2)]  # a link's batch
        previous = [f"'mo{5 * HISTORY}'", *burst, "'unknown'"]  # the keys of the last window

        def column(value: str) -> str:  # the same value for every MO of the batch
            return f"ARRAY[{', '.join([value] * len(previous))}]"

        keys = [f"'new{n}'" for n in range(len(previous))]
        with engine.connect() as conn:
            plan = generic_plan(
                conn,
                reassembly._STORE_PG,
                {
                    "channel": "'smpp'",
                    "link": "'telco'",
                    "now": "now()",
                    "since": "now() - interval '1 day'",
                    "keys": f"ARRAY[{', '.join(keys)}]",
                    "previous": f"ARRAY[{', '.join(previous)}]",
                    "senders": column("'+62812'"),
                    "recipients": column("'1708'"),
                    "texts": column("'jalan rusak'"),
                },
            )
    assert plan["Actual Rows"] == 2  # the one 100 days old and the unknown one: not seen lately
    # the row of each key, not the window's (a walk through the burst reads thousands)
    assert rows_read(plan, "inbound_messages") <= BATCH + 2  # the keys looked up


def _inbound(
    conn: Connection, first: int, count: int, age: str = "now()", state: str = "processed"
) -> None:
    """Messages mo<first>... of link telco from +62812<n>, received `age` (SQL of g) ago."""
    conn.execute(
        text(
            "INSERT INTO inbound_messages (channel, link, external_id, sender, recipient, text,"
            " parts, incomplete, received_at, state) SELECT 'smpp', 'telco', 'mo' || g,"
            f" '+62812' || g, '1708', 'jalan rusak', 1, false, {age}, :state"
            " FROM generate_series(CAST(:first AS int), CAST(:last AS int)) g"
        ),
        {"state": state, "first": first, "last": first + count - 1},
    )


def test_a_link_marks_replies_sent_without_reading_the_sent_ones(history: Engine) -> None:
    with history.connect() as conn:
        conn.execute(  # in flight (an outcome changes only rows still sending); rolled back
            text(f"UPDATE outbound_messages SET status = 'sending' WHERE id IN (3, 5, {HISTORY})")
        )
        plan = generic_plan(
            conn,
            outbox._SENT_PG,
            {
                "now": "now()",
                "ids": f"ARRAY[3, 5, {HISTORY}]",
                "ids_json": """ARRAY['["a"]', '["b"]', '[]']""",
                "segment_ids": "ARRAY[3, 5]",
                "external_ids": "ARRAY['a', 'b']",
            },
        )
    assert [node["Actual Rows"] for node in nodes(plan, "ModifyTable")] == [0, 3]  # the UPDATE's 3
    # each row found through the primary key; a scan of the sent ones would read thousands
    assert rows_read(plan, "outbound_messages") == 3


def test_a_link_matches_receipts_without_reading_the_sent_ones(history: Engine) -> None:
    with history.connect() as conn:
        plan = generic_plan(
            conn, outbox._SEGMENTS_NAMED_PG, f"'smpp', 'telco', ARRAY['3', '{HISTORY}', 'x']"
        )
    assert plan["Actual Rows"] == 2
    # the segments the ids name and their messages' other segments, through the indexes
    assert rows_read(plan, "outbound_segments") <= 4
    assert rows_read(plan, "outbound_messages") == 2


def test_a_group_links_its_complaints_without_reading_the_history(history: Engine) -> None:
    with history.connect() as conn:
        plan = generic_plan(
            conn,
            inbound._LINK_COMPLAINTS_PG,
            f"ARRAY[3, 5, {HISTORY}], ARRAY[NULL, NULL, NULL]::integer[]",
        )
    assert rows_read(plan, "inbound_messages") == 3  # each through the primary key


@pytest.mark.parametrize(
    ("officer", "found"), [("+6281210", 1), ("+6281399999999", 0)], ids=["texted", "never-texted"]
)
def test_an_officers_way_back_is_found_without_reading_the_history(
    history: Engine, officer: str, found: int
) -> None:
    """Every complaint routed to an agency texts its officers the way each last wrote to us:
    an officer who never did must not cost a walk through every message received."""
    statement = actions.LAST_INBOUND.params(spellings=actions.spellings(officer))
    with history.connect() as conn:
        rows, blocks = planned(conn, statement)
    assert rows == found
    assert blocks <= MOST_BLOCKS


def _complaints(conn: Connection, first: int, count: int, age: str) -> None:
    """`count` reporters from number `first` on, each with one complaint filed `age` ago."""
    numbers = {"first": first, "last": first + count - 1}
    conn.execute(
        text(
            "INSERT INTO reporters (msisdn, masked, blocked, created_at) SELECT '+62813' || g,"
            " '62813xxxx', false, now() FROM generate_series(CAST(:first AS int), CAST(:last AS int)) g"
        ),
        numbers,
    )
    conn.execute(
        text(
            "INSERT INTO complaints (tracking_number, reporter_id, reply_address, text,"
            " text_hash, channel, link, sector, status, anonymous, confidential,"
            " complaint_type, routing_confidence, routing_explanation, created_at,"
            f" updated_at) SELECT g, r.id, r.msisdn, 'jalan rusak', md5(g::text), 'smpp',"
            f" 'telco', 'infrastruktur', 'assigned', false, false, 'normal', 0.9, '', {age},"
            " now() FROM generate_series(CAST(:first AS int), CAST(:last AS int)) g JOIN reporters r"
            " ON r.msisdn = '+62813' || g"
        ),
        numbers,
    )


def test_a_group_reads_its_reporters_recent_complaints_not_the_days() -> None:
    """Each group of texts reads what its reporters filed in the last day (duplicates, the
    hourly limit). Statistics a little behind a busy day must not turn that into a walk
    through every complaint filed since they were taken."""
    with migrated_pg_database() as engine:
        with engine.begin() as conn:  # a hundred days of history, analyzed
            _complaints(conn, 1, 5 * HISTORY, f"now() - interval '100 days' * g / {5 * HISTORY}")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        with engine.begin() as conn:  # then a burst: complaints the statistics do not know
            _complaints(conn, 5 * HISTORY + 1, HISTORY // 2, "now()")
        with engine.connect() as conn:
            group = list(conn.scalars(text("SELECT id FROM reporters ORDER BY id DESC LIMIT 30")))
            statement = actions.RECENT.params(reporters=group, since=utcnow() - timedelta(hours=24))
            rows, blocks = planned(conn, statement, generic=False)
    assert rows == len(group)
    assert blocks <= 4 * len(group)  # an index descent and a row for each, not the day's


def test_erasing_a_number_reads_its_replies_not_the_whole_outbox(history: Engine) -> None:
    """The retention sweep erases every number silent for RETENTION_DAYS, many a run: each
    erasure must find the number's replies through an index, not read every reply held."""
    from models.privacy import erase_reporter

    sent: list[tuple[str, dict[str, Any]]] = []

    def record(*args: Any) -> None:
        sent.append((args[2], args[3]))

    event.listen(history, "before_cursor_execute", record)
    try:
        with Session(history) as session:
            assert erase_reporter(session, "+6281242")  # the history's 42nd reply's
            session.rollback()
    finally:
        event.remove(history, "before_cursor_execute", record)
    ((sql, params),) = [(s, p) for s, p in sent if s.startswith("UPDATE outbound_messages")]
    with history.connect() as conn:
        plan = generic_plan(conn, sql, {name: f"'{value}'" for name, value in params.items()})
    assert plan["Plans"][0]["Actual Rows"] == 1
    assert rows_read(plan, "outbound_messages") <= 4  # its row, not the 20,003 of the outbox
