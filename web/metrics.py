"""GET /metrics: Prometheus figures computed from the database and Redis at scrape time.

A custom collector rather than counters in memory: the web, worker and SMPP
processes all change these numbers, and only the shared stores see them all.
Per-process metrics (gateway/smpp/metrics.py) are added when
PROMETHEUS_MULTIPROC_DIR is set.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from models.db import session_scope
from models.inbound import InboundState
from models.outbox import OutboxStatus
from models.queues import QUEUES, get_queue, link_states
from models.stats import complaint_counts, message_counts

log = logging.getLogger(__name__)

bp = Blueprint("metrics", __name__)
BACKLOG = (OutboxStatus.QUEUED, OutboxStatus.SENDING)


class StoreCollector(Collector):
    """Everything an operator alerts on, read from PostgreSQL/SQLite and Redis."""

    def collect(self) -> Iterator[Metric]:
        yield from self._database()
        yield from self._redis()

    def _database(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("lapor_database_up", "1 when the database answered this scrape")
        try:
            with session_scope() as session:
                messages = message_counts(session)
                statuses, overdue = complaint_counts(session)
        except Exception:  # a scrape reports the outage, it does not fail
            log.warning("metrics: database unavailable", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        inbound = CounterMetricFamily(
            "lapor_messages_in", "Inbound messages stored", labels=["channel", "link"]
        )
        unhandled = GaugeMetricFamily(
            "lapor_inbound_failed",
            "Inbound messages whose handling failed (the sender was told it is kept), awaiting"
            " an operator: `python app.py inbound retry` once the cause is fixed",
            labels=["channel", "link"],
        )
        stored: dict[tuple[str, str], int] = {}
        for channel, link, state, count in messages["inbound"]:
            stored[(channel, link)] = stored.get((channel, link), 0) + count
            if state == InboundState.FAILED:
                unhandled.add_metric([channel, link], count)
        for (channel, link), count in stored.items():
            inbound.add_metric([channel, link], count)
        outbound = CounterMetricFamily(
            "lapor_messages_out", "Outbound messages by state", labels=["channel", "link", "status"]
        )
        backlog = GaugeMetricFamily(
            "lapor_outbox_backlog", "Messages waiting to be sent", labels=["channel", "link"]
        )
        failed = GaugeMetricFamily(
            "lapor_outbox_failed",
            "Messages failed, awaiting an operator",
            labels=["channel", "link"],
        )
        waiting: dict[tuple[str, str], int] = {}
        for channel, link, status, count in messages["outbound"]:
            outbound.add_metric([channel, link, status], count)
            if status in BACKLOG:
                waiting[(channel, link)] = waiting.get((channel, link), 0) + count
            if status == OutboxStatus.FAILED:
                failed.add_metric([channel, link], count)
        for (channel, link), count in waiting.items():
            backlog.add_metric([channel, link], count)
        complaints = GaugeMetricFamily(
            "lapor_complaints", "Complaints by status", labels=["status"]
        )
        for status, count in statuses.items():
            complaints.add_metric([status], count)
        late = GaugeMetricFamily("lapor_complaints_overdue", "Open complaints past a deadline")
        late.add_metric([], overdue)
        yield from (inbound, unhandled, outbound, backlog, failed, complaints, late)

    def _redis(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("lapor_redis_up", "1 when Redis answered this scrape")
        depth = GaugeMetricFamily(
            "lapor_queue_depth", "Jobs waiting per RQ queue", labels=["queue"]
        )
        bound = GaugeMetricFamily("lapor_link_up", "1 while a telco link is bound", labels=["link"])
        try:
            for name in QUEUES:
                depth.add_metric([name], get_queue(name).count)
            for link, state in link_states().items():
                is_bound = isinstance(state, dict) and bool(state.get("bound"))
                bound.add_metric([link], 1 if is_bound else 0)
        except Exception:  # a scrape reports the outage, it does not fail
            log.warning("metrics: redis unavailable", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield from (up, depth, bound)


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    return registry


@bp.get("/metrics")
def metrics() -> Response:
    return Response(generate_latest(_registry()), mimetype=CONTENT_TYPE_LATEST)
