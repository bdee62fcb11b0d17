"""The TPS limit holds across limiter instances (processes) because it lives in Redis."""

from __future__ import annotations

import time
import uuid

import pytest

from gateway.smpp.limiter import LEASE_S, TpsLimiter


@pytest.mark.parametrize(("tps", "ahead"), [(20, 0), (200, 10)], ids=["exact", "taking-ahead"])
def test_two_senders_share_one_budget(db: dict[str, str], tps: int, ahead: int) -> None:
    from models.queues import get_redis

    link = f"t{uuid.uuid4().hex[:8]}"
    first, second = (TpsLimiter(get_redis(), link, tps=tps, ahead=ahead) for _ in range(2))
    sent = 0
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        for limiter in (first, second):
            sent += limiter.take(3)[0]
        time.sleep(0.002)
    # One second at the TPS plus the initial burst of as many: never what two local
    # buckets allow, and tokens taken ahead are never used twice.
    assert tps <= sent <= 2 * tps + 1


def test_bursts_within_a_lease_ask_redis_once(db: dict[str, str]) -> None:
    """A busy link sends a burst every few milliseconds: not a Redis round trip each."""
    from models.queues import get_redis

    limiter = TpsLimiter(get_redis(), f"t{uuid.uuid4().hex[:8]}", tps=1000, ahead=50)
    calls = []
    script = limiter._script
    limiter._script = lambda **kw: calls.append(kw) or script(**kw)
    granted = [limiter.take(2)[0] for _ in range(20)]  # 40 tokens, well within LEASE_S
    assert granted == [2] * 20
    assert len(calls) == 1


def test_tokens_taken_ahead_and_not_used_go_back_to_the_bucket(db: dict[str, str]) -> None:
    from models.queues import get_redis

    link = f"t{uuid.uuid4().hex[:8]}"
    ahead = TpsLimiter(get_redis(), link, tps=100, ahead=5)  # 5: a twentieth of a second
    other = TpsLimiter(get_redis(), link, tps=100)
    assert ahead.take(1)[0] == 1  # and 5 more held
    assert other.take(100)[0] >= 93  # what is left of the burst
    time.sleep(LEASE_S + 0.01)
    assert ahead.take(1)[0] == 1  # gives the 5 back, takes 1 and 5 more from the refill
    # The refill of the pause (about 6) went to `ahead`; the 5 given back are the other's.
    assert other.take(100)[0] >= 4


def test_nothing_granted_says_how_long_to_wait(db: dict[str, str]) -> None:
    from models.queues import get_redis

    limiter = TpsLimiter(get_redis(), f"t{uuid.uuid4().hex[:8]}", tps=10)
    assert limiter.take(25)[0] == 10  # the burst: one second's worth
    granted, wait = limiter.take(1)
    assert granted == 0 and 0 < wait <= 0.1
