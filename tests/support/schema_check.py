"""Compare raw JSON against the official SDK's models: every key must be in the model's `attribute_map`,
every value of the declared type, every enum value in the model's allowed values (the SDK's setters turn
an unknown enum value into "outdated_sdk_version", which is how an enum violation is detected here)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import PureCloudPlatformClientV2 as sdk

_PRIMITIVES = {"str": str, "int": int, "float": (int, float), "bool": bool, "object": object}


def schema_problems(value: Any, type_name: str, where: str = "$") -> list[str]:
    if value is None:
        return []
    if type_name.startswith("list["):
        inner = re.match(r"list\[(.*)\]$", type_name).group(1)
        if not isinstance(value, list):
            return [f"{where}: expected a list for {type_name}"]
        return [p for i, item in enumerate(value) for p in schema_problems(item, inner, f"{where}[{i}]")]
    if type_name.startswith("dict("):
        inner = re.match(r"dict\(([^,]*), (.*)\)$", type_name).group(2)
        if not isinstance(value, dict):
            return [f"{where}: expected an object for {type_name}"]
        return [p for k, item in value.items() for p in schema_problems(item, inner, f"{where}.{k}")]
    if type_name in ("datetime", "date", "LocalDateTime"):
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except (AttributeError, ValueError):
            return [f"{where}: {value!r} is not an ISO-8601 date"]
        return []
    if type_name in _PRIMITIVES:
        expected = _PRIMITIVES[type_name]
        if type_name == "int" and isinstance(value, bool):
            return [f"{where}: expected int, got bool"]
        return (
            []
            if isinstance(value, expected)
            else [f"{where}: expected {type_name}, got {type(value).__name__}"]
        )
    return _model_problems(value, type_name, where)


def _model_problems(value: Any, type_name: str, where: str) -> list[str]:
    model = getattr(sdk, type_name)
    if not isinstance(value, dict):
        return [f"{where}: expected a {type_name} object"]
    instance = model()
    by_json_name = {json_name: attr for attr, json_name in instance.attribute_map.items()}
    problems = []
    for key, item in value.items():
        attr = by_json_name.get(key)
        if attr is None:
            problems.append(f"{where}.{key}: not a field of {type_name}")
            continue
        attr_type = instance.swagger_types[attr]
        problems += schema_problems(item, attr_type, f"{where}.{key}")
        if attr_type == "str" and isinstance(item, str):
            probe = model()
            setattr(probe, attr, item)
            if getattr(probe, attr) == "outdated_sdk_version":
                problems.append(f"{where}.{key}: {item!r} is not an allowed {type_name}.{key} value")
    return problems
