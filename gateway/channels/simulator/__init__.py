"""The phone simulator as a channel: texts typed on the web page enter like a telco's.

Inbound goes through gateway.intake.accept (channel "sim"), so the simulator
exercises the real path; replies are outbox rows of channel "sim" that the
sender marks sent without leaving the machine, and the page reads them back.
"""

from __future__ import annotations

CHANNEL = "sim"
LINK = "web"
