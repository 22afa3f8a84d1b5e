"""`twin new`, the parts before any server: reading and refusing documents, the plan, the scenarios."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from localfactory.errors import UserError
from localfactory.twins.scaffold_openapi import OpenAPIError, load_document
from localfactory.twins.scaffold_plan import plan_twin
from localfactory.twins.scaffold_scenarios import build_scenarios

DOCUMENT = Path(__file__).parent / "data" / "bookshelf.openapi.json"


def bookshelf() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DOCUMENT.read_text())
    return data


def write(tmp_path: Path, document: Any, name: str = "api.json") -> Path:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def _without_responses(doc: dict[str, Any]) -> None:
    del doc["paths"]["/books"]["get"]["responses"]


def _dangling_ref(doc: dict[str, Any]) -> None:
    doc["paths"]["/books"]["post"]["requestBody"]["content"]["application/json"]["schema"] = {
        "$ref": "#/components/schemas/Nope"
    }


def _twice(doc: dict[str, Any]) -> None:
    doc["paths"]["/books/{bookId}"]["put"]["operationId"] = "getBook"


def _bad_status(doc: dict[str, Any]) -> None:
    doc["paths"]["/books/{bookId}"]["get"]["responses"]["ok"] = {"description": "?"}


def _external_ref(doc: dict[str, Any]) -> None:
    doc["paths"]["/books/{bookId}"]["get"]["responses"]["200"] = {"$ref": "other.json#/x"}


def _bad_parameter(doc: dict[str, Any]) -> None:
    doc["paths"]["/books"]["get"]["parameters"][1] = {"name": "cursor", "in": "body"}


@pytest.mark.parametrize(
    ("spoil", "where", "what"),
    [
        (_without_responses, "paths['/books'].get.responses", "at least one response"),
        (_dangling_ref, "paths['/books'].post.requestBody", "'#/components/schemas/Nope'"),
        (_twice, "paths['/books/{bookId}'].put.operationId", "'getBook' is also"),
        (_bad_status, "paths['/books/{bookId}'].get.responses['ok']", "not an HTTP status"),
        (_external_ref, "paths['/books/{bookId}'].get.responses['200']", "only '#/...'"),
        (_bad_parameter, "paths['/books'].get.parameters[1]", "'in' must be"),
    ],
)
def test_a_malformed_document_is_refused_naming_what_and_where(
    tmp_path: Path, spoil: Any, where: str, what: str
) -> None:
    doc = bookshelf()
    spoil(doc)
    with pytest.raises(OpenAPIError) as caught:
        load_document(write(tmp_path, doc))
    message = caught.value.message
    assert where in message and what in message, message
    assert isinstance(caught.value, UserError)


def test_documents_that_are_not_openapi_3_are_refused(tmp_path: Path) -> None:
    with pytest.raises(OpenAPIError, match="not valid JSON"):
        load_document(write(tmp_path, '{"openapi": "3.1.0",'))
    with pytest.raises(OpenAPIError, match=r"not an OpenAPI 3\.0 or 3\.1 document \('swagger'"):
        load_document(write(tmp_path, {"swagger": "2.0", "paths": {}}))
    with pytest.raises(OpenAPIError, match="has no paths"):
        load_document(write(tmp_path, {"openapi": "3.0.3", "info": {}, "paths": {}}))
    with pytest.raises(OpenAPIError, match="There is no OpenAPI document"):
        load_document(tmp_path / "missing.json")


def test_yaml_reads_like_json(tmp_path: Path) -> None:
    from_yaml = load_document(write(tmp_path, yaml.safe_dump(bookshelf()), "api.yaml"))
    from_json = load_document(DOCUMENT)
    assert [o.label for o in from_yaml.operations] == [o.label for o in from_json.operations]
    assert from_yaml.error_schema == from_json.error_schema


def test_the_plan_serves_crud_and_leaves_the_archive_action_to_the_model() -> None:
    plan = plan_twin("bookshelf", load_document(DOCUMENT))
    kinds = {op.name: op.kind for op in plan.operations}
    assert kinds == {
        "listBooks": "list",
        "createBook": "create",
        "getBook": "read",
        "replaceBook": "replace",
        "updateBook": "update",
        "deleteBook": "delete",
        "archiveBook": "custom",
    }
    [books] = plan.resources
    assert (books.collection, books.item, books.id_field) == ("/books", "/books/{bookId}", "id")
    assert books.defaults == {"archived": False} and books.created_fields == ["created_at"]
    listing = plan.operation("listBooks").paging
    assert listing is not None
    assert (listing.style, listing.limit_param, listing.items_field) == ("cursor", "limit", "data")
    assert (listing.cursor_field, listing.total_field, listing.filters) == (
        "next_cursor",
        "total",
        ("author",),
    )
    assert plan.error_template == {"code": "$code", "message": "$message"}
    # A client never sends the read-only fields, so request schemas leave them out.
    body = plan.operation("createBook").body
    assert body is not None and "archived" not in body["properties"]


def test_scenarios_create_the_record_a_path_names_and_check_the_action_s_result() -> None:
    plan = plan_twin("bookshelf", load_document(DOCUMENT))
    scenarios, skipped = build_scenarios(plan)
    assert skipped == []
    archive = next(s for s in scenarios if s["name"] == "archiveBook answers 200")
    create, action = archive["steps"]
    assert (create["method"], create["path"], create["save"]) == ("POST", "/v1/books", "books1")
    assert create["body"] == {
        "title": "Dune",
        "author": "Frank Herbert",
        "year": 1965,
        "tags": ["sf"],
    }
    assert action["params"] == {"bookId": "${books1.id}"}
    assert action["expect"]["status"] == 200
    assert action["expect"]["values"] == {"archived": True}
    assert archive["from"] == "examples"
    names = {s["name"] for s in scenarios}
    assert {
        "getBook refuses a missing record with 404",
        "createBook refuses an empty body with 400",
    } <= names


def test_a_document_without_an_error_schema_gets_plain_errors_and_says_so(tmp_path: Path) -> None:
    doc = bookshelf()
    for item in doc["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and "responses" in op:
                op["responses"] = {k: v for k, v in op["responses"].items() if k.startswith("2")}
    plan = plan_twin("plain", load_document(write(tmp_path, doc)))
    assert plan.error_template == {"error": "$code", "message": "$message"}
    assert any("no error schema" in note for note in plan.notes)


def test_twin_new_never_replaces_a_twin_it_did_not_make(tmp_path: Path) -> None:
    from localfactory.twins.scaffold import new_twin

    shipped = tmp_path / "handmade"
    shipped.mkdir()
    (shipped / "twin.toml").write_text('name = "handmade"\n')
    with pytest.raises(UserError, match="did not make; it is never replaced"):
        new_twin("handmade", DOCUMENT, shipped, force=True)
    with pytest.raises(UserError, match=r"already exists in .*slack"):
        new_twin("slack", DOCUMENT, tmp_path / "elsewhere")
    assert (shipped / "twin.toml").read_text() == 'name = "handmade"\n'


def test_security_the_twin_cannot_check_is_left_open_and_noted(tmp_path: Path) -> None:
    doc = bookshelf()
    doc["components"]["securitySchemes"]["key"] = {"type": "apiKey", "in": "query", "name": "k"}
    doc["paths"]["/books"]["get"]["security"] = [{"key": []}]
    doc["paths"]["/books"]["post"]["security"] = []
    plan = plan_twin("bookshelf", load_document(write(tmp_path, doc)))
    secured = {op.name: op.api.secured for op in plan.operations}
    assert secured["listBooks"] is False and secured["createBook"] is False
    assert secured["getBook"] is True
    assert any("API key outside a header is not checked" in n for n in plan.notes)
