"""A TPS limit per link that holds across every process: a token bucket kept in Redis.

The bucket lives in one Redis hash per link and is updated by a Lua script, so
all senders of a link share it atomically. If Redis is unreachable the link
falls back to a local bucket (and logs it) rather than stop sending.
"""

from __future__ import annotations

import logging
import threading
import time

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

KEY = "lapor:smpp:tps:{link}"
LEASE_S = 0.05  # tokens taken ahead are used this long, then given back

# KEYS[1] bucket; ARGV: rate (tokens/s), burst (max tokens), wanted (tokens), returned
# (tokens taken before and not used). Returns {granted, wait}: wait (a string, Lua numbers
# are truncated to integers) is the seconds until one token is there when none was granted.
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local returned = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate + returned)
local granted = math.min(wanted, math.floor(tokens))
tokens = tokens - granted
local wait = 0
if granted == 0 then
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], 60)
return {granted, tostring(wait)}
"""


class LocalBucket:
    """The same bucket in this process only (the fallback while Redis is away)."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.ts = burst, time.monotonic()
        self._lock = threading.Lock()

    def take(self, wanted: int = 1) -> tuple[int, float]:
        with self._lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.ts) * self.rate)
            self.ts = now
            granted = min(wanted, int(self.tokens))
            self.tokens -= granted
            return granted, 0.0 if granted else (1 - self.tokens) / self.rate


class TpsLimiter:
    """`take(n)` grants up to n submits now.

    It returns (granted, wait): when nothing is granted, the seconds until a
    token is there. Each call to Redis also takes up to `ahead` tokens more,
    used by the next bursts for LEASE_S (a link at 500 MO/s sends a burst of
    one or two replies every few milliseconds, and a Redis round trip each
    kept its socket thread from reading and sending). A token is used once or
    given back to the bucket with the next call, so every sender of the link
    together still never exceeds the bucket: at most `ahead` of them wait in
    one sender for LEASE_S, and `ahead` is at most that long's share of the TPS.
    """

    def __init__(
        self,
        redis: Redis,
        link: str,
        tps: float,
        burst: float | None = None,
        ahead: int = 0,
    ) -> None:
        self.key = KEY.format(link=link)
        self.rate = tps
        # A burst of one second's worth at most: the SMSC counts per second.
        self.burst = burst if burst is not None else max(1.0, tps)
        self.ahead = max(0, min(ahead, int(tps * LEASE_S)))
        self._redis = redis
        self._script = redis.register_script(_TAKE)
        self._local = LocalBucket(tps, self.burst)
        self._degraded = False
        self._spare = 0  # tokens taken ahead, ours until _spare_until
        self._spare_until = 0.0

    def take(self, wanted: int = 1) -> tuple[int, float]:
        now = time.monotonic()
        if wanted <= self._spare and now < self._spare_until:
            self._spare -= wanted
            return wanted, 0.0
        returned, self._spare = self._spare, 0
        granted, wait = self._take_shared(wanted + self.ahead, returned)
        used = min(wanted, granted)
        self._spare, self._spare_until = granted - used, now + LEASE_S
        return used, wait

    def _take_shared(self, wanted: int, returned: int) -> tuple[int, float]:
        try:
            granted, wait = self._script(
                keys=[self.key], args=[self.rate, self.burst, wanted, returned]
            )
        except RedisError:
            if not self._degraded:
                log.warning("TPS limiter: Redis unreachable, limiting in this process only")
                self._degraded = True
            return self._local.take(wanted)
        if self._degraded:
            log.info("TPS limiter: Redis is back")
            self._degraded = False
        return int(granted), float(wait)
