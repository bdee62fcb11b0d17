"""LAPOR! 1708 gateway: the Flask app factory and the command line.

`python app.py` runs everything on one machine (web, RQ worker, cron, SMPP
links); `python app.py worker|cron|smpp|web` runs one role for a process
manager. See README.md for the full contract.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType

from flask import Flask

from config.logs import ensure_logging, setup_logging
from config.settings import get_settings

log = logging.getLogger("app")


def create_app() -> Flask:
    """The WSGI app: every HTTP surface (gunicorn 'app:create_app()')."""
    from gateway.channels import blueprints as channel_blueprints
    from gateway.channels.ussd import set_menu_engine
    from gateway.intake import set_inbound_listener
    from handlers.router import warm_up
    from handlers.ussd import respond as ussd_menu
    from web import blueprints as web_blueprints

    ensure_logging(get_settings().log_level)  # gunicorn never runs main(): mask its logs too
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024  # an SMS webhook is never larger
    for blueprint in [*web_blueprints(), *channel_blueprints()]:
        app.register_blueprint(blueprint)
    set_inbound_listener(enqueue_handling)
    set_menu_engine(ussd_menu)
    warm_up()  # the router on the database's agencies, built before gunicorn --preload forks
    return app


def enqueue_handling(ids: list[int]) -> None:
    """Wake a worker to handle freshly stored inbound messages (gateway -> handlers)."""
    from models.queues import wake_inbound

    wake_inbound(ids)


def prepare_database() -> None:
    """Migrate to the newest schema and seed regions and agencies if empty."""
    from models.db import session_scope
    from models.migrate import upgrade
    from models.seed import seed_all

    get_settings().var_dir.mkdir(parents=True, exist_ok=True)
    upgrade()
    with session_scope() as session:
        seed_all(session)


def run_worker(burst: bool = False) -> None:
    """An RQ worker on every queue, with RQ's scheduler for delayed retries.

    Round robin: a worker that just ran an inbound job (a busy link's can last
    handlers.jobs.DRAIN_S) looks at the other queues first, so replies to HTTP
    partners and the sweeps are not held back by a steady stream of SMS.
    """
    from rq import SimpleWorker
    from rq.worker import DequeueStrategy

    from handlers.jobs import recover_interrupted
    from handlers.router import warm_up
    from models.queues import QUEUES, get_redis

    # Until RQ installs its own handler: a stop now unwinds (filing notes removed, the
    # transaction rolled back) rather than ends the process where it stands.
    _stop_on_sigterm()
    warm_up()  # the router before the first job, not during it
    recover_interrupted()  # what a worker that died on this machine was filing
    settle_heap()
    worker = SimpleWorker(list(QUEUES), connection=get_redis())
    worker.work(
        burst=burst,
        with_scheduler=True,
        logging_level=get_settings().log_level,
        dequeue_strategy=DequeueStrategy.ROUND_ROBIN,
    )


CRON_RETRY_MIN_S, CRON_RETRY_MAX_S = 1.0, 60.0


def run_cron() -> None:
    """RQ's cron scheduler: enqueues the periodic sweeps.

    CronScheduler.start() raises on the first Redis error; without the retry
    a short Redis outage would end the sweeps for good. The scheduler starts
    again after an exponential backoff, reset once it has run for a while.
    """
    from redis.exceptions import RedisError
    from rq.cron import CronScheduler
    from rq.exceptions import StopRequested

    from handlers.sla_sweep import sweep_deadlines
    from models.privacy import retention_job
    from models.queues import MAINTENANCE_QUEUE, get_redis
    from models.sweep import sweep_messages
    from routing.sla import rules

    cron = CronScheduler(connection=get_redis(), logging_level=get_settings().log_level)
    cron.register(sweep_messages, MAINTENANCE_QUEUE, interval=get_settings().sweep_interval_s)
    cron.register(sweep_deadlines, MAINTENANCE_QUEUE, interval=rules().sweep_interval_s)
    cron.register(retention_job, MAINTENANCE_QUEUE, interval=24 * 3600)
    delay = CRON_RETRY_MIN_S
    while True:
        started = time.monotonic()
        try:
            cron.start()
            return  # stopped by SIGTERM or Ctrl-C
        except RedisError as exc:
            if isinstance(exc.__context__, StopRequested | KeyboardInterrupt):
                return  # stopped during the outage: only unregistering failed
            if time.monotonic() - started > CRON_RETRY_MAX_S:
                delay = CRON_RETRY_MIN_S
            log.error("cron: Redis unreachable (%s); no sweeps until it is back", exc)
        log.info("cron: starting the scheduler again in %.0f s", delay)
        try:
            time.sleep(delay)  # start() installed its handlers: a stop raises StopRequested
        except (StopRequested, KeyboardInterrupt):
            return
        delay = min(delay * 2, CRON_RETRY_MAX_S)


def run_web() -> None:
    """The development web server (production: gunicorn 'app:create_app()')."""
    from werkzeug.serving import make_server

    settings = get_settings()
    server = make_server(settings.http_host, settings.http_port, create_app(), threaded=True)
    log.info("web listening on http://%s:%d", settings.http_host, settings.http_port)
    try:
        server.serve_forever()
    finally:
        server.server_close()


def run_smpp() -> None:
    """Every configured SMPP link in this process (one thread owns each socket)."""
    from gateway.smpp.runner import run_links

    settle_heap()
    run_links(enqueue_handling)


GC_THRESHOLDS = (2000, 20, 100)  # Python's are (700, 10, 10)


def settle_heap() -> None:
    """Keep what start-up built (the routing index, modules) out of the garbage collector's scans,
    and collect the oldest generation less often.

    A full collection walks every object the process holds: with the routing
    index in the heap it paused a worker for up to 240 ms in the middle of a
    group, and the slowest replies of a busy link were those. In a 20 s run of
    bench/bench_smpp.py a worker then still made three full collections of
    15-35 ms after start-up with Python's thresholds, none with these.
    Short-lived cycles (sessions, ORM states) are still collected young.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _stop_on_sigterm() -> None:
    def _raise(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _raise)


def _spawn(role: str) -> subprocess.Popen[bytes]:
    script = os.path.abspath(__file__)
    return subprocess.Popen([sys.executable, script, role], env=os.environ.copy())


def _stop_children(children: Sequence[subprocess.Popen[bytes]], timeout_s: float = 15.0) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    for child in children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("child pid=%d did not stop in time; killing it", child.pid)
            child.kill()
            child.wait()


RESTART_MIN_S, RESTART_MAX_S = 1.0, 60.0


class _Roles:
    """run_all's child roles; one that dies unexpectedly is started again, with backoff.

    Without this a crashed cron or worker stayed dead while the web process kept
    answering /healthz 200: no sweeps, no sends, and nothing to alert on.
    """

    def __init__(self, roles: Sequence[str]) -> None:
        self._lock = threading.Lock()
        self._stopping = False
        self._running = {role: _spawn(role) for role in roles}
        for role in roles:
            threading.Thread(target=self._keep, args=(role,), daemon=True).start()

    def _keep(self, role: str) -> None:
        delay = RESTART_MIN_S
        while True:
            proc, started = self._running[role], time.monotonic()
            code = proc.wait()
            if time.monotonic() - started > RESTART_MAX_S:
                delay = RESTART_MIN_S
            with self._lock:
                if self._stopping:
                    return
            log.error(
                "%s role (pid=%d) exited with status %s; starting it again in %.0f s",
                role,
                proc.pid,
                code,
                delay,
            )
            time.sleep(delay)
            with self._lock:
                if self._stopping:
                    return
                self._running[role] = _spawn(role)
            log.info("%s role started again (pid=%d)", role, self._running[role].pid)
            delay = min(delay * 2, RESTART_MAX_S)

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            children = list(self._running.values())
        _stop_children(children)


def run_all() -> None:
    """Everything in one process tree; Ctrl-C (or SIGTERM) stops all of it cleanly."""
    from models.queues import get_redis, stop_embedded_redis

    settings = get_settings()
    prepare_database()
    get_redis().ping()  # starts the embedded Redis when no REDIS_URL is set
    children = _Roles(["worker", "cron"] + (["smpp"] if settings.smpp_links else []))
    _stop_on_sigterm()
    try:
        run_web()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        children.stop()
        stop_embedded_redis()
        log.info("stopped")


def _cmd_sweep(_args: argparse.Namespace) -> None:
    from models.sweep import sweep_messages

    print(sweep_messages())


def _cmd_route(args: argparse.Namespace) -> None:
    from handlers.router import warm_up

    router = warm_up()  # the database's agencies, as the running gateway decides
    texts = (line.rstrip("\n") for line in sys.stdin) if args.jsonl else [args.text or ""]
    for text in texts:
        print(json.dumps(router.route(text).to_dict(), ensure_ascii=False))


def _cmd_reporter(args: argparse.Namespace) -> None:
    """Personal data requests (UU 27/2022): export or erase everything about one number.

    `block` / `unblock`: the blocklist (texts stored, never answered or filed).
    """
    from models import admin
    from models.db import session_scope
    from models.privacy import erase_reporter, export_reporter

    with _admin_errors(), session_scope() as session:
        if args.action == "export":
            data = export_reporter(session, args.number)
            print(json.dumps(data, ensure_ascii=False, indent=2))
        elif args.action == "block":
            print(f"{admin.block_reporter(session, args.number, args.reason).masked}\tblocked")
        elif args.action == "unblock":
            reporter = admin.unblock_reporter(session, args.number)
            print(
                f"{reporter.masked}\tunblocked" if reporter else "nothing is held about that number"
            )
        elif not erase_reporter(session, args.number):
            print("nothing is held about that number")


def _cmd_inbound(args: argparse.Namespace) -> None:
    """`inbound retry [--id N ...]`: failed messages handled anew (after the cause is fixed)."""
    from models.db import after_commit, session_scope
    from models.inbound import retry_failed
    from models.queues import wake_inbound

    with session_scope() as session:
        ids = retry_failed(session, args.id)
        after_commit(session, lambda: wake_inbound(ids))
    print(f"{len(ids)} inbound messages waiting again")


def _cmd_sla_sweep(_args: argparse.Namespace) -> None:
    from handlers.sla_sweep import sweep_deadlines

    print(sweep_deadlines())


@contextmanager
def _admin_errors() -> Iterator[None]:
    """An administrator's mistake is a one-line message and exit status 1, not a traceback."""
    from models.admin import AdminError

    try:
        yield
    except AdminError as exc:
        raise SystemExit(f"error: {exc}") from None


def _cmd_agency(args: argparse.Namespace) -> None:
    """`agency list [PREFIX]`; `agency add` creates, or renames when the code exists;
    `agency deactivate|activate`. Running processes route by the change from the next message."""
    from models import admin
    from models.db import session_scope

    with _admin_errors(), session_scope() as session:
        if args.action == "list":
            for agency in admin.list_agencies(session, args.prefix):
                parent = agency.parent.code if agency.parent else "-"
                print(f"{agency.code}\t{agency.name}\t{agency.sector}\t{parent}")
            return
        if args.action in ("activate", "deactivate"):
            agency = admin.set_agency_active(session, args.code, args.action == "activate")
            print(f"{agency.code}\t{agency.name}\t{'active' if agency.active else 'inactive'}")
            return
        if admin.find_agency(session, args.code) is not None:
            agency = admin.rename_agency(session, args.code, args.name)
        elif not args.sector:
            raise SystemExit("a new agency needs --sector")
        else:
            agency = admin.add_agency(
                session,
                code=args.code,
                name=args.name,
                sector=args.sector,
                region_code=args.region,
                parent_code=args.parent,
                is_coordinator=args.coordinator,
            )
        print(f"{agency.code}\t{agency.name}")


def _cmd_officer(args: argparse.Namespace) -> None:
    from models import admin
    from models.db import session_scope

    with _admin_errors(), session_scope() as session:
        if args.action == "add":
            officer = admin.add_officer(
                session, agency_code=args.agency, msisdn=args.msisdn, name=args.name
            )
        else:
            officer = admin.deactivate_officer(session, args.msisdn)
        state = "active" if officer.active else "inactive"
        print(f"{officer.msisdn}\t{officer.agency.code}\t{state}")


def _agency_parsers(sub: argparse._SubParsersAction) -> None:
    agency = sub.add_parser("agency", help="list, add, rename or deactivate agencies")
    actions = agency.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="code, name, sector, parent; tab-separated")
    listing.add_argument("prefix", nargs="?", default="", help="only codes starting with this")
    add = actions.add_parser("add", help="a new agency, or a new name for an existing code")
    add.add_argument("--code", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--sector", help="required for a new agency")
    add.add_argument("--region", help="Kemendagri region code")
    add.add_argument("--parent", help="the agency one level up (berjenjang escalation)")
    add.add_argument("--coordinator", action="store_true", help="the region's SP4N coordinator")
    for action, what in (("deactivate", "no new complaints"), ("activate", "back in routing")):
        actions.add_parser(action, help=f"{what}: {action} an agency").add_argument(
            "--code", required=True
        )
    officer = sub.add_parser("officer", help="add or deactivate an officer who acts by SMS")
    officer_actions = officer.add_subparsers(dest="action", required=True)
    add_officer = officer_actions.add_parser("add")
    add_officer.add_argument("--agency", required=True)
    add_officer.add_argument("--msisdn", required=True)
    add_officer.add_argument("--name")
    deactivate = officer_actions.add_parser("deactivate")
    deactivate.add_argument("--msisdn", required=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="app.py", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="everything (the default)")
    sub.add_parser("web", help="the web server only")
    worker = sub.add_parser("worker", help="an RQ worker")
    worker.add_argument("--burst", action="store_true", help="stop when the queues are empty")
    sub.add_parser("cron", help="the periodic sweeps")
    sub.add_parser("smpp", help="the SMPP links of SMPP_LINKS")
    sub.add_parser("smsc-sim", help="a local SMSC simulator (smpp34); --help for its options")
    sub.add_parser("migrate", help="migrate and seed the database")
    sub.add_parser("sweep", help="run the message sweep once")
    sub.add_parser("sla-sweep", help="run the deadline sweep once (reminders, escalation, close)")
    _agency_parsers(sub)
    reporter = sub.add_parser("reporter", help="export, erase, block or unblock a reporter")
    reporter.add_argument("action", choices=["export", "erase", "block", "unblock"])
    reporter.add_argument("number")
    reporter.add_argument("--reason", default="", help="why (block; kept in the audit trail)")
    inbound = sub.add_parser("inbound", help="retry inbound messages whose handling failed")
    inbound.add_argument("action", choices=["retry"])
    inbound.add_argument("--id", type=int, action="append", default=[], help="only these")
    route = sub.add_parser("route", help="print the routing decision for a text as JSON")
    route.add_argument("text", nargs="?")
    route.add_argument("--jsonl", action="store_true", help="read texts from stdin, one per line")
    return parser


COMMANDS: dict[str, Callable[[argparse.Namespace], None]] = {
    "run": lambda a: run_all(),
    "web": lambda a: run_web(),
    "worker": lambda a: run_worker(burst=a.burst),
    "cron": lambda a: run_cron(),
    "smpp": lambda a: run_smpp(),
    "migrate": lambda a: prepare_database(),
    "sweep": _cmd_sweep,
    "route": _cmd_route,
    "sla-sweep": _cmd_sla_sweep,
    "agency": _cmd_agency,
    "officer": _cmd_officer,
    "reporter": _cmd_reporter,
    "inbound": _cmd_inbound,
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["smsc-sim"]:
        from gateway.smpp.simulator import main as simulator_main

        setup_logging(get_settings().log_level)
        return simulator_main(argv[1:])
    args = _parser().parse_args(argv)
    setup_logging(get_settings().log_level)
    COMMANDS[args.command or "run"](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
