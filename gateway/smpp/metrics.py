"""Per-link Prometheus metrics (the default registry; multiprocess-safe gauge modes)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

BOUND = Gauge(
    "lapor_smpp_bound",
    "1 while the session is bound",
    ["link", "session"],
    multiprocess_mode="livemax",
)
INFLIGHT = Gauge(
    "lapor_smpp_window_inflight",
    "submit_sm awaiting their response",
    ["link"],
    multiprocess_mode="livesum",
)
SUBMITS = Counter("lapor_smpp_submits", "submit_sm responses by outcome", ["link", "outcome"])
RECEIPTS = Counter("lapor_smpp_receipts", "delivery receipts by outcome", ["link", "outcome"])
THROTTLES = Counter("lapor_smpp_throttles", "ESME_RTHROTTLED / ESME_RMSGQFUL answers", ["link"])
RECONNECTS = Counter("lapor_smpp_reconnects", "connection attempts after a loss", ["link"])
BIND_FAILURES = Counter("lapor_smpp_bind_failures", "binds refused or unanswered", ["link"])
MO = Counter("lapor_smpp_mo", "deliver_sm and data_sm from the SMSC by kind", ["link", "kind"])
