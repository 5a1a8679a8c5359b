"""The standards' own published schemas, read where the tests need them.

The VNG Verwerkingenlogging write API's request body comes from `../shared/vectors/` (vendored
there with its source); LDV's record rules from `tests/vectors/ldv/` (see its README).
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft4Validator, FormatChecker
from opentelemetry.proto.trace.v1.trace_pb2 import Span

ROOT = Path(__file__).resolve().parents[1]
VWL = ROOT.parent / "shared" / "vectors" / "verwerkingenlogging" / "write-api.openapi.yaml"
LDV = json.loads(
    (Path(__file__).parent / "vectors" / "ldv" / "dpl-core-attributes.json").read_text()
)


def _writable(schema: Any) -> Any:
    """A request-body view of an OpenAPI schema: readOnly properties are neither required nor sent."""
    if isinstance(schema, dict):
        out = {k: _writable(v) for k, v in schema.items()}
        props = schema.get("properties")
        if isinstance(props, dict) and "required" in schema:
            out["required"] = [
                r for r in schema["required"] if not props.get(r, {}).get("readOnly")
            ]
        return out
    if isinstance(schema, list):
        return [_writable(v) for v in schema]
    return schema


def _resolve(node: Any, components: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            return _resolve(components[node["$ref"].rsplit("/", 1)[-1]], components)
        return {k: _resolve(v, components) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, components) for v in node]
    return node


def verwerkingsactie_validator() -> Draft4Validator:
    """The `Verwerkingsactie` request body (VerwerkingsactieUitgebreidBasis) of VNG's write API."""
    if not VWL.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{VWL} is missing in CI")
        pytest.skip("../shared/vectors/verwerkingenlogging is not beside this clone")
    document = yaml.safe_load(VWL.read_text(encoding="utf-8"))
    components = document["components"]["schemas"]
    schema = _writable(
        _resolve(copy.deepcopy(components["VerwerkingsactieUitgebreidBasis"]), components)
    )
    return Draft4Validator(schema, format_checker=FormatChecker())


def ldv_problems(span: Span) -> list[str]:
    """What makes an OTLP span not a valid LDV record (empty when it is one)."""
    rules = LDV["record_fields"]
    problems = []
    if len(span.trace_id) != rules["trace_id_bytes"]:
        problems.append("trace_id is not 16 bytes")
    if len(span.span_id) != rules["span_id_bytes"]:
        problems.append("span_id is not 8 bytes")
    if span.parent_span_id and len(span.parent_span_id) != rules["span_id_bytes"]:
        problems.append("parent_span_id is not 8 bytes")
    if not span.name:
        problems.append("name is empty")
    if not span.start_time_unix_nano or span.end_time_unix_nano < span.start_time_unix_nano:
        problems.append("start or end time missing or reversed")
    attributes = {a.key: a.value.string_value for a in span.attributes}
    for key in LDV["attributes"]["required"]:
        if not attributes.get(key):
            problems.append(f"attribute {key} missing")
    return problems
