"""Fixtures of the web tests: an app with an admin token, an Open311 key and the simulator on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from web_support import WEB_ENV, Api


@pytest.fixture()
def web_env(db: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The test database plus the web settings; the cached settings are re-read around it."""
    from config.settings import get_settings

    for name, value in WEB_ENV.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield {**db, **WEB_ENV}
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture()
def client(web_env: dict[str, str]) -> FlaskClient:
    from app import create_app

    return create_app().test_client()


@pytest.fixture()
def api(client: FlaskClient) -> Api:
    return Api(client)
