"""Delivery reports pushed over HTTP (a partner's dlr-url, Twilio's status callback)."""

from __future__ import annotations

import time

from models import outbox
from models.db import session_scope

# A report can overtake the commit of its own send (Kannel answers sendsms at once, and a fast
# SMSC reports at once; Twilio's callbacks too): an unknown id is looked up again for this long
# before it is dropped.
RECEIPT_WAIT_S, RECEIPT_POLL_S = 3.0, 0.1


def record_receipt_waiting(
    channel: str, link: str, external_id: str, state: str, error: str | None = None
) -> bool:
    """outbox.record_receipt, looking an unknown id up again for RECEIPT_WAIT_S (each time in a
    new transaction, to see the send's commit) before giving up: False then."""
    deadline = time.monotonic() + RECEIPT_WAIT_S
    while True:
        with session_scope() as session:
            known = outbox.record_receipt(
                session,
                channel=channel,
                link=link,
                external_id=external_id,
                state=state,
                error=error,
            )
        if known or time.monotonic() >= deadline:
            return known
        time.sleep(RECEIPT_POLL_S)
