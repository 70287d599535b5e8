"""Several OAuth clients on one connection: `extra_clients` in the extras, one settings per client."""

from __future__ import annotations

import pytest

from genesys_cloud.client_settings import ClientSettings

SECOND = {"client_id": "second-id", "client_secret": "second-secret"}


def _settings(**extra) -> ClientSettings:
    return ClientSettings.from_connection(
        conn_id="genesys_cloud_default",
        host="https://api.mypurecloud.ie",
        port=None,
        schema=None,
        login="first-id",
        password="first-secret",
        extra=extra,
    )


def test_each_configured_client_has_its_own_credentials_and_token_key():
    settings = _settings(extra_clients=[SECOND])
    assert settings.client_count == 2
    second = settings.for_client(1)
    assert (second.client_id, second.client_secret) == ("second-id", "second-secret")
    assert second.token_key != settings.token_key
    assert second.api_url == settings.api_url
    assert settings.for_client(0) is settings


def test_without_extra_clients_there_is_one_client():
    assert _settings().client_count == 1
    with pytest.raises(ValueError, match="out of range"):
        _settings().for_client(1)


def test_no_secret_shows_in_the_settings_repr():
    text = repr(_settings(extra_clients=[SECOND]))
    assert "second-secret" not in text and "first-secret" not in text


@pytest.mark.parametrize(
    "bad",
    [
        "second-id",
        [{"client_id": "second-id"}],
        [{"client_id": "first-id", "client_secret": "x"}],
        [SECOND, SECOND],
    ],
)
def test_a_malformed_or_repeated_extra_client_is_refused_without_showing_its_secret(bad):
    with pytest.raises(ValueError, match="genesys_cloud_default") as raised:
        _settings(extra_clients=bad)
    assert "second-secret" not in str(raised.value)
