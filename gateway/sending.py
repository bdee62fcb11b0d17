"""The RQ send job for pushed channels (Twilio, HTTP partners).

Claim (commit) -> send -> mark (commit): a row is never sent twice once the
carrier accepted it, and a worker killed mid-send leaves a leased row that
the sweep fails visibly rather than silently re-sending.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import lru_cache

from rq.timeouts import BaseTimeoutException

from config.settings import get_settings
from gateway.channels import PermanentSendError, Sender, TemporarySendError, sender_factories
from models import outbox
from models.db import session_scope
from models.phone import mask
from models.queues import OUTBOUND_QUEUE, get_queue

log = logging.getLogger(__name__)


@lru_cache(maxsize=64)
def sender_for(channel: str, link: str) -> Sender:
    factory = sender_factories().get(channel)
    if factory is None:
        raise PermanentSendError(f"no sender for channel {channel!r}")
    return factory(get_settings(), link)


def send_outbound(ids: list[int]) -> None:
    """Send each row, claiming it just before its own send, not the whole job at once.

    A job may carry hundreds of rows (the sweep wakes a backlog in one job).
    Claimed up front, the rows not yet reached would sit `sending`: a worker
    killed mid-job would leave them to be failed as interrupted though they
    never left, and a long job would outlive their leases.
    """
    for outbound_id in ids:
        with session_scope() as session:
            claims = outbox.claim_ids(session, [outbound_id])
        for claim in claims:
            _send_one(claim)


def _send_one(claim: outbox.OutboundClaim) -> None:
    """Send one claimed row and mark its outcome.

    Only a TemporarySendError (the sender is sure the message never left) is
    retried. Any other error leaves the outcome unknown: the row fails visibly
    rather than risk a second SMS. RQ's job timeout is not caught at all: the
    row stays `sending` and the sweep fails it once its lease expires.
    """
    try:
        external_ids = sender_for(claim.channel, claim.link).send(claim)
    except BaseTimeoutException:
        raise
    except PermanentSendError as exc:
        log.error("outbound=%d to=%s failed permanently: %s", claim.id, mask(claim.recipient), exc)
        with session_scope() as session:
            outbox.mark_failed(session, claim.id, str(exc))
        return
    except TemporarySendError as exc:
        with session_scope() as session:
            settings = get_settings()
            delay = outbox.mark_retry(
                session,
                claim.id,
                f"{type(exc).__name__}: {exc}",
                delay_s=outbox.backoff(claim.attempts, base_s=settings.retry_base_s),
                max_attempts=settings.outbox_max_attempts,
            )
        log.warning("outbound=%d temporary failure, retry in %ss: %s", claim.id, delay, exc)
        if delay is not None:
            _wake_later(claim.id, delay)
        return
    except Exception as exc:  # an unknown outcome: shown, not retried
        log.exception("outbound=%d to=%s failed mid-send", claim.id, mask(claim.recipient))
        with session_scope() as session:
            error = f"may or may not have been sent: {type(exc).__name__}: {exc}"
            outbox.mark_failed(session, claim.id, error)
        return
    with session_scope() as session:
        outbox.mark_sent(session, claim.id, external_ids)
    log.info(
        "outbound=%d sent via %s/%s to=%s",
        claim.id,
        claim.channel,
        claim.link,
        mask(claim.recipient),
    )


SCHEDULER_RESOLUTION_S = 1.0  # RQ's scheduler wakes once a second: a job may run that early


def _wake_later(outbound_id: int, delay_s: float) -> None:
    try:
        get_queue(OUTBOUND_QUEUE).enqueue_in(
            timedelta(seconds=delay_s + SCHEDULER_RESOLUTION_S),
            send_outbound,
            [outbound_id],
            result_ttl=60,
        )
    except Exception:  # noqa: BLE001 - Redis is only the wake-up path
        log.warning("could not schedule retry of outbound=%d; the sweep will", outbound_id)
