"""SMPP 3.4 transport: links to telco SMSCs (ESME side) and a local SMSC simulator.

The link process owns the sockets (python-smpplib, one thread per socket);
inbound messages are committed before deliver_sm_resp; outbound messages come
from the outbox. See README.md in this package for the moving parts.
"""
