"""USSD *1708#: a menu that files and checks complaints from any phone.

`respond` is the menu engine app.py hands to gateway/channels/ussd; it
speaks in screens (text, end) and knows nothing of the aggregator's wire
format.
"""

from handlers.ussd.session import respond

__all__ = ["respond"]
