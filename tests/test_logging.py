"""Reporter numbers never appear unmasked in a log line."""

from __future__ import annotations

import logging

import pytest

from config.logs import MaskingFormatter


@pytest.mark.parametrize("number", ["+628113643123", "628113643123", "08113643123"])
def test_every_spelling_of_a_number_is_masked(number: str) -> None:
    formatter = MaskingFormatter("%(message)s")
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "sms from %s", (number,), None)
    line = formatter.format(record)
    assert number.lstrip("+") not in line
    assert line.endswith("xxxx")


def test_a_record_is_one_line_and_tracking_numbers_stay_readable() -> None:
    formatter = MaskingFormatter("%(message)s")
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "a\nb #%d", (1000001,), None)
    assert formatter.format(record) == "a | b #1000001"
