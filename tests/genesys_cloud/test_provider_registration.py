"""Airflow discovers the `genesys_cloud` connection type through the installed provider entry point."""

from __future__ import annotations

import warnings

import pytest
from airflow.providers_manager import ProvidersManager
from airflow.sdk.module_loading import import_string

from genesys_cloud.hook import GenesysCloudHook
from genesys_cloud.provider_info import PACKAGE_NAME


@pytest.fixture(scope="module")
def providers() -> ProvidersManager:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ProvidersManager.hooks is deprecated in favour of the task SDK's
        manager = ProvidersManager()
        manager.hooks  # noqa: B018  (loads the hooks of every provider)
    return manager


def test_the_provider_package_is_registered(providers):
    assert PACKAGE_NAME in providers.providers


def test_the_connection_type_resolves_to_the_sync_hook(providers):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info = providers.hooks["genesys_cloud"]
    assert info is not None
    assert info.hook_class_name == "genesys_cloud.hook.GenesysCloudHook"
    assert import_string(info.hook_class_name) is GenesysCloudHook
    assert (info.connection_type, info.connection_id_attribute_name) == ("genesys_cloud", "genesys_conn_id")
    assert info.hook_name == "Genesys Cloud"
    assert info.connection_testable


def test_the_connection_form_is_known_without_importing_the_hook(providers):
    behaviour = providers.field_behaviours["genesys_cloud"]
    assert behaviour["hidden_fields"] == ["schema", "port"]
    assert behaviour["relabeling"]["login"] == "OAuth client id"
    assert behaviour["relabeling"]["password"] == "OAuth client secret"
    assert behaviour == GenesysCloudHook.get_ui_field_behaviour()
