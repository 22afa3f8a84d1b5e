"""The OpenAPI 3.1 document of a twin, generated from its declared operations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localfactory.twins.admin import AdminRoute
    from localfactory.twins.core import Operation, Twin

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def openapi_document(twin: Twin, admin: list[AdminRoute]) -> dict[str, Any]:
    """Every operation of ``twin`` and of the admin API, as an OpenAPI 3.1 document."""
    paths: dict[str, dict[str, Any]] = {}
    for op in twin.operations:
        item = paths.setdefault(twin.prefix + op.path, {})
        for method in op.methods:
            entry = _operation(op, method)
            if method != op.method:
                entry["operationId"] = f"{op.name}_{method.lower()}"
            item[method.lower()] = entry
    for route in admin:
        item = paths.setdefault(route.path, {})
        item[route.method.lower()] = _admin_operation(route)
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": DIALECT,
        "info": {
            "title": twin.title,
            "version": twin.version,
            "description": twin.description
            or f"A digital twin of the {twin.name} API, served by localfactory.",
        },
        "servers": [{"url": "/", "description": "This twin"}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "token": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token issued by POST /_twin/tokens.",
                }
            }
        },
        "tags": [
            {
                "name": "twin",
                "description": "The twin's own admin API (not part of the real service).",
            }
        ],
    }


def _operation(op: Operation, method: str) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in op.path_params
    ]
    entry: dict[str, Any] = {
        "operationId": op.name,
        "summary": op.summary or op.name,
        "responses": {
            str(op.status): {
                "description": "Success",
                "content": {JSON: {"schema": {"type": "object"}}},
            },
            "default": {
                "description": "The service's own error body",
                "content": {JSON: {"schema": {"type": "object"}}},
            },
        },
    }
    if op.tags:
        entry["tags"] = list(op.tags)
    if op.auth:
        entry["security"] = [{"token": []}]
    if op.args is not None:
        if method in ("GET", "DELETE", "HEAD"):
            parameters += _query_parameters(op.args)
        else:
            entry["requestBody"] = {
                "required": bool(op.args.get("required")),
                "content": {FORM: {"schema": op.args}, JSON: {"schema": op.args}},
            }
    if op.query is not None:
        parameters += _query_parameters(op.query)
    if op.body is not None:
        entry["requestBody"] = {
            "required": bool(op.body.get("required")),
            "content": {JSON: {"schema": op.body}},
        }
    if parameters:
        entry["parameters"] = parameters
    return entry


def _query_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": sub}
        for name, sub in schema.get("properties", {}).items()
    ]


def _admin_operation(route: AdminRoute) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "operationId": route.name,
        "summary": route.summary,
        "tags": ["twin"],
        "security": [],
        "responses": {
            "200": {"description": "Success", "content": {JSON: {"schema": {"type": "object"}}}},
            "default": {
                "description": "An admin error: {error, detail}",
                "content": {JSON: {"schema": {"type": "object"}}},
            },
        },
    }
    if route.body is not None:
        entry["requestBody"] = {"required": False, "content": {JSON: {"schema": route.body}}}
    if route.path_param:
        entry["parameters"] = [
            {"name": route.path_param, "in": "path", "required": True, "schema": {"type": "string"}}
        ]
    return entry
