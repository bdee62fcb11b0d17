"""Logging: one line per event, reporter numbers masked in every line."""

from __future__ import annotations

import logging
import re
import sys

from models.phone import mask_in_text

# Credentials a partner may put in a query string (Kannel's get-url: ?token=...), as access
# logs print them: the value is replaced, the name kept.
_SECRET_PARAMS = re.compile(r"(?i)\b((?:token|password|api_key)=)[^&\s\"']+")

# Loggers a web server keeps for itself (they do not propagate to the root handler).
SERVER_LOGGERS = ("gunicorn.error", "gunicorn.access")


class MaskingFormatter(logging.Formatter):
    """Formats as usual (or as `inner` does), then masks phone numbers and credentials in
    query strings; one line per record."""

    def __init__(
        self,
        fmt: str | None = None,
        datefmt: str | None = None,
        inner: logging.Formatter | None = None,
    ) -> None:
        super().__init__(fmt, datefmt)
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        line = self.inner.format(record) if self.inner else super().format(record)
        return _SECRET_PARAMS.sub(r"\1***", mask_in_text(line)).replace("\n", " | ")


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


def ensure_logging(level: str = "INFO") -> None:
    """Masked logging in a process app.py main() did not start (gunicorn 'app:create_app()').

    The root handler is set up only if nothing has set logging up yet, so a second call (or
    one after setup_logging) adds nothing; the handlers of the server's own loggers (gunicorn's
    error and access logs) keep their format and are masked in place, once.
    """
    if not logging.getLogger().handlers:
        setup_logging(level)
    for name in SERVER_LOGGERS:
        for handler in logging.getLogger(name).handlers:
            if not isinstance(handler.formatter, MaskingFormatter):
                handler.setFormatter(MaskingFormatter(inner=handler.formatter))
