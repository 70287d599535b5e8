"""The plugin folder as Airflow loads it: the evidence page's app is mounted and its menu entry shown."""

from __future__ import annotations


def test_airflow_loads_the_evidence_plugin_with_its_app_and_browse_entry():
    from airflow import plugins_manager

    assert plugins_manager.get_import_errors() == {}
    apps, _middlewares = plugins_manager.get_fastapi_plugins()
    mounted = {app["url_prefix"]: app for app in apps}
    assert "/erasure-evidence" in mounted
    routes = {route.path for route in mounted["/erasure-evidence"]["app"].routes}
    assert {"/", "/lookup", "/documents/{relative:path}", "/signing-public-key.pem"} <= routes
    views, _react = plugins_manager._get_ui_plugins()
    entry = next(view for view in views if view["name"] == "Erasure evidence")
    assert (entry["href"], entry["category"], entry["url_route"]) == (
        "/erasure-evidence/",
        "browse",
        "erasure-evidence",
    )
