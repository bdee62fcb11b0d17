"""One router for the whole test session: building the index takes about a second."""

from __future__ import annotations

import pytest

from routing.engine import Router


@pytest.fixture(scope="session")
def router() -> Router:
    return Router.from_config()
