"""Logging: one line per event, reporter numbers masked in every line."""

from __future__ import annotations

import logging
import sys

from models.phone import mask_in_text


class MaskingFormatter(logging.Formatter):
    """Formats as usual, then masks phone numbers and folds the record onto one line."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        return mask_in_text(line).replace("\n", " | ")


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        MaskingFormatter("%(asctime)s %(levelname)s %(name)s pid=%(process)d %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("werkzeug", "twilio.http_client"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
