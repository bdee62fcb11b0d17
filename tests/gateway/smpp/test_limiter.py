"""The TPS limit holds across limiter instances (processes) because it lives in Redis."""

from __future__ import annotations

import time
import uuid

from gateway.smpp.limiter import TpsLimiter


def test_two_senders_share_one_budget(db: dict[str, str]) -> None:
    from models.queues import get_redis

    link = f"t{uuid.uuid4().hex[:8]}"
    first, second = (TpsLimiter(get_redis(), link, tps=20) for _ in range(2))
    sent = 0
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        for limiter in (first, second):
            sent += limiter.take(3)[0]
        time.sleep(0.002)
    # One second at 20/s plus the initial burst of 20: never the 40+ two local buckets allow.
    assert 20 <= sent <= 41


def test_nothing_granted_says_how_long_to_wait(db: dict[str, str]) -> None:
    from models.queues import get_redis

    limiter = TpsLimiter(get_redis(), f"t{uuid.uuid4().hex[:8]}", tps=10)
    assert limiter.take(25)[0] == 10  # the burst: one second's worth
    granted, wait = limiter.take(1)
    assert granted == 0 and 0 < wait <= 0.1
