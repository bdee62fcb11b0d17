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

# KEYS[1] bucket; ARGV: rate (tokens/s), burst (max tokens). Returns seconds to wait
# (as a string, Lua numbers are truncated to integers); 0 means a token was taken.
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], 60)
return tostring(wait)
"""


class LocalBucket:
    """The same bucket in this process only (the fallback while Redis is away)."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.ts = burst, time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> float:
        with self._lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.ts) * self.rate)
            self.ts = now
            if self.tokens >= 1:
                self.tokens -= 1
                return 0.0
            return (1 - self.tokens) / self.rate


class TpsLimiter:
    """`take()` returns 0.0 when a submit may go now, else the seconds to wait first."""

    def __init__(self, redis: Redis, link: str, tps: float, burst: float | None = None) -> None:
        self.key = KEY.format(link=link)
        self.rate = tps
        # A burst of one second's worth at most: the SMSC counts per second.
        self.burst = burst if burst is not None else max(1.0, tps)
        self._redis = redis
        self._script = redis.register_script(_TAKE)
        self._local = LocalBucket(tps, self.burst)
        self._degraded = False

    def take(self) -> float:
        try:
            wait = float(self._script(keys=[self.key], args=[self.rate, self.burst]))
        except RedisError:
            if not self._degraded:
                log.warning("TPS limiter: Redis unreachable, limiting in this process only")
                self._degraded = True
            return self._local.take()
        if self._degraded:
            log.info("TPS limiter: Redis is back")
            self._degraded = False
        return wait
