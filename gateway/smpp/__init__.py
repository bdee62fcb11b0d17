"""SMPP 3.4 transport: links to telco SMSCs (ESME side) and a local SMSC simulator.

The link process owns the sockets (python-smpplib, one thread per socket);
inbound messages are committed before deliver_sm_resp; outbound messages come
from the outbox. The moving parts of one link (link.py): a session thread per
socket (session.py: binds, select loop, window via submitter.py, TPS via
limiter.py), one database thread (dbworker.py: group commits of MO, receipts
and send outcomes, then the acks) and a feeder thread claiming outbox rows
and renewing their leases. runner.py runs every configured link.
"""
