"""`twin new --no-model`: the scaffold of the bookshelf document, served and driven over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from localfactory.twins.app import TwinApp
from localfactory.twins.scaffold import REPORT, NewTwin, new_twin
from localfactory.twins.scaffold_conformance import SCENARIOS, load_fresh, run_scenarios
from localfactory.twins.serve import RunningTwin, run_in_thread
from tests.twins.test_twin_cli import free_port

pytestmark = pytest.mark.integration

DOCUMENT = Path(__file__).parent / "data" / "bookshelf.openapi.json"
CRUD = {"listBooks", "createBook", "getBook", "replaceBook", "updateBook", "deleteBook"}


@dataclass
class Shelf:
    """The scaffolded bookshelf twin, served, with a token."""

    built: NewTwin
    running: RunningTwin
    token: str

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        headers = {"content-type": "application/json"}
        chosen = self.token if token is None else token
        if chosen:
            headers["authorization"] = f"Bearer {chosen}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.running.url + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw, status = response.read(), response.status
        except urllib.error.HTTPError as exc:
            raw, status = exc.read(), exc.code
        return status, json.loads(raw) if raw else None

    def add(self, **fields: Any) -> dict[str, Any]:
        status, book = self.call("POST", "/v1/books", {"author": "Ursula K. Le Guin", **fields})
        assert status == 201, book
        return dict(book)


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NewTwin, RunningTwin]]:
    folder = tmp_path_factory.mktemp("twins") / "bookshelf"
    built = new_twin("bookshelf", DOCUMENT, folder)
    app = TwinApp(load_fresh(folder), snapshot_dir=tmp_path_factory.mktemp("snapshots"))
    with run_in_thread(app) as running:
        yield built, running


@pytest.fixture
def shelf(scaffolded: tuple[NewTwin, RunningTwin]) -> Shelf:
    built, running = scaffolded
    empty = Shelf(built, running, "")
    assert empty.call("POST", "/_twin/reset")[0] == 200
    status, issued = empty.call("POST", "/_twin/tokens", {"user": "ada"})
    assert status == 201
    return Shelf(built, running, issued["token"])


def test_every_operation_is_served_and_listed_in_openapi(shelf: Shelf) -> None:
    files = sorted(p.name for p in shelf.built.folder.iterdir())
    assert files == sorted(
        [
            "twin.toml",
            "__init__.py",
            "resources.py",
            "schemas.py",
            "errors.py",
            "operations.py",
            "handlers.py",
            SCENARIOS,
            REPORT,
        ]
    )
    status, document = shelf.call("GET", "/openapi.json")
    assert status == 200
    listed = {
        (method.upper(), path, entry["operationId"])
        for path, item in document["paths"].items()
        if not path.startswith("/_twin")
        for method, entry in item.items()
    }
    assert listed == {
        ("GET", "/v1/books", "listBooks"),
        ("POST", "/v1/books", "createBook"),
        ("GET", "/v1/books/{bookId}", "getBook"),
        ("PUT", "/v1/books/{bookId}", "replaceBook"),
        ("PATCH", "/v1/books/{bookId}", "updateBook"),
        ("DELETE", "/v1/books/{bookId}", "deleteBook"),
        ("POST", "/v1/books/{bookId}/archive", "archiveBook"),
    }
    # The open handler answers, in the document's error shape, that it is not written yet.
    book = shelf.add(title="Lathe")
    status, body = shelf.call("POST", f"/v1/books/{book['id']}/archive")
    assert status == 501 and body["code"] == "not_implemented"


def test_crud_over_http(shelf: Shelf) -> None:
    book = shelf.add(title="The Dispossessed", year=1974, tags=["sf"])
    assert book["id"] == "1" and book["archived"] is False and book["created_at"].endswith("Z")
    assert list(book) == ["id", "title", "author", "year", "tags", "archived", "created_at"]
    assert shelf.call("GET", "/v1/books/1") == (200, book)

    status, error = shelf.call("PATCH", "/v1/books/1", {"year": 1975, "archived": True})
    assert status == 400 and "archived is not accepted" in error["message"]
    status, changed = shelf.call("PATCH", "/v1/books/1", {"year": 1975})
    assert status == 200 and changed == {**book, "year": 1975}

    status, replaced = shelf.call("PUT", "/v1/books/1", {"title": "Anarres", "author": "ULG"})
    assert status == 200
    assert (replaced["id"], replaced["created_at"]) == (book["id"], book["created_at"])
    assert "year" not in replaced and replaced["title"] == "Anarres"

    assert shelf.call("DELETE", "/v1/books/1") == (204, None)
    status, error = shelf.call("GET", "/v1/books/1")
    assert status == 404
    assert error == {"code": "not_found", "message": "No book has the id '1'."}
    assert shelf.call("GET", "/v1/books")[1]["data"] == []


def test_lists_page_with_the_document_s_cursor_and_filter(shelf: Shelf) -> None:
    for title in ("A", "B", "C"):
        shelf.add(title=title)
    shelf.add(title="D", author="Someone Else")
    status, first = shelf.call("GET", "/v1/books?limit=2")
    assert status == 200
    assert [b["title"] for b in first["data"]] == ["A", "B"] and first["total"] == 4
    assert first["next_cursor"]
    _, second = shelf.call("GET", f"/v1/books?limit=2&cursor={first['next_cursor']}")
    assert [b["title"] for b in second["data"]] == ["C", "D"] and second["next_cursor"] is None
    _, mine = shelf.call("GET", "/v1/books?author=Someone%20Else")
    assert [b["title"] for b in mine["data"]] == ["D"]
    status, error = shelf.call("GET", "/v1/books?cursor=not-ours")
    assert status == 400 and error["code"] == "invalid_arguments"
    status, error = shelf.call("GET", "/v1/books?limit=500")
    assert status == 400 and "limit" in error["message"]


def test_invalid_requests_are_refused_in_the_document_s_error_shape(shelf: Shelf) -> None:
    status, error = shelf.call("POST", "/v1/books", {"author": "Nobody"})
    assert status == 400
    assert error == {"code": "invalid_arguments", "message": "title: title is required"}
    status, error = shelf.call("POST", "/v1/books", {"title": "X", "author": "Y", "pages": 3})
    assert status == 400 and "pages" in error["message"]
    status, error = shelf.call("POST", "/v1/books", {"title": "X", "author": "Y", "year": "old"})
    assert status == 400 and set(error) == {"code", "message"}
    status, error = shelf.call("GET", "/v1/books", token="")
    assert status == 401 and error["code"] == "missing_token"


def test_the_state_is_json_that_seeds_snapshots_and_restores(shelf: Shelf) -> None:
    status, seeded = shelf.call(
        "POST", "/_twin/seed", {"books": [{"title": "Kept", "author": "A"}]}
    )
    assert (status, seeded) == (200, {"books": ["1"]})
    assert shelf.call("POST", "/_twin/seed", {"shelves": []})[0] == 400
    assert shelf.call("POST", "/_twin/snapshot", {"name": "one"})[0] == 200
    shelf.call("DELETE", "/v1/books/1")
    assert shelf.call("POST", "/_twin/restore", {"name": "one"})[0] == 200
    assert shelf.call("GET", "/v1/books/1")[1]["title"] == "Kept"


def test_generated_scenarios_pass_for_every_crud_operation(shelf: Shelf) -> None:
    scenarios = json.loads((shelf.built.folder / SCENARIOS).read_text())
    results = run_scenarios(shelf.running.url, scenarios)
    verdicts = {r["name"]: r["passed"] for r in results}
    assert {r["operation"] for r in results} >= CRUD | {"archiveBook"}
    assert all(
        ok for r, ok in zip(results, verdicts.values(), strict=True) if r["operation"] in CRUD
    ), results
    # The stub answers 501, so the archive scenarios fail until a handler is written.
    archive = [r for r in results if r["operation"] == "archiveBook"]
    assert archive and not any(r["passed"] for r in archive)
    assert "answered 501, expected 200" in archive[0]["problems"][0]
    # The same verdicts were recorded by the sandboxed run in the twin's report.
    report = json.loads((shelf.built.folder / REPORT).read_text())
    assert {r["name"]: r["passed"] for r in report["scenarios"]["results"]} == verdicts
    assert [h["written_by"] for h in report["handlers"]] == ["stub"]
    served = {o["operation"]: o["served_by"] for o in report["operations"]}
    assert served["archiveBook"] == "stub" and {served[n] for n in CRUD} == {"scaffold"}


def test_a_broken_crud_handler_fails_its_scenario(shelf: Shelf) -> None:
    scenarios = json.loads((shelf.built.folder / SCENARIOS).read_text())
    read = [s for s in scenarios if s["operation"] == "getBook"]
    for scenario in read:
        scenario["steps"][-1]["expect"].setdefault("values", {})["title"] = "Not Dune"
    results = run_scenarios(shelf.running.url, read)
    assert not results[0]["passed"]
    assert 'body.title should be "Not Dune", got "Dune"' in results[0]["problems"][0]


def test_cli_writes_a_user_twin_that_twin_up_serves(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path)}
    out = tmp_path / "localfactory" / "user-twins" / "shelf"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "localfactory", "twin", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    made = cli("new", "shelf", "--from", str(DOCUMENT), "--out", str(out), "--no-model")
    assert made.returncode == 0, made.stderr
    assert "Conformance: 11 of 13 scenarios pass." in made.stdout
    assert "localfactory twin up shelf --local" in made.stdout
    again = cli("new", "shelf", "--from", str(DOCUMENT), "--out", str(out), "--no-model")
    assert again.returncode == 2 and "--force" in again.stderr + again.stdout
    port = free_port()
    try:
        up = cli("up", "shelf", "--local", "--port", str(port))
        assert up.returncode == 0, up.stderr
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_twin/health", timeout=10) as r:
            assert json.loads(r.read())["twin"] == "shelf"
    finally:
        cli("down", "shelf")


def _library() -> dict[str, Any]:
    """OpenAPI 3.0: integer ids, a nested collection (its parameter named two ways), offset paging, 422s."""
    error = {
        "description": "An error.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    shelf = {
        "type": "object",
        "required": ["id", "name"],
        "properties": {"id": {"type": "integer", "readOnly": True}, "name": {"type": "string"}},
    }
    book = {
        "type": "object",
        "required": ["id", "title", "shelf_id"],
        "properties": {
            "id": {"type": "integer", "readOnly": True},
            "title": {"type": "string"},
            "shelf_id": {"type": "integer", "readOnly": True, "nullable": True},
        },
    }

    def json_body(schema: dict[str, Any]) -> dict[str, Any]:
        return {"content": {"application/json": {"schema": schema}}}

    def page(items: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["items", "count"],
            "properties": {
                "items": {"type": "array", "items": items},
                "count": {"type": "integer"},
            },
        }

    paging = [
        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 2}},
    ]
    return {
        "openapi": "3.0.3",
        "info": {"title": "Library", "version": "2"},
        "paths": {
            "/shelves": {
                "post": {
                    "operationId": "createShelf",
                    "requestBody": {"required": True, **json_body(shelf)},
                    "responses": {
                        "201": {"description": "Made.", **json_body(shelf)},
                        "422": error,
                    },
                },
                "get": {
                    "operationId": "listShelves",
                    "parameters": paging,
                    "responses": {"200": {"description": "Shelves.", **json_body(page(shelf))}},
                },
            },
            "/shelves/{shelfId}/books": {
                "post": {
                    "operationId": "shelveBook",
                    "requestBody": {"required": True, **json_body(book)},
                    "responses": {"201": {"description": "Shelved.", **json_body(book)}},
                },
                "get": {
                    "operationId": "listShelfBooks",
                    "parameters": paging,
                    "responses": {"200": {"description": "Books.", **json_body(page(book))}},
                },
            },
            "/shelves/{shelf-id}/books/{bookId}": {
                "get": {
                    "operationId": "getShelfBook",
                    "responses": {
                        "200": {"description": "A book.", **json_body(book)},
                        "404": error,
                    },
                },
            },
        },
        "components": {
            "schemas": {
                "Problem": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        }
                    },
                }
            }
        },
    }


def test_nested_collections_integer_ids_and_a_nested_error_shape(tmp_path: Path) -> None:
    source = tmp_path / "library.json"
    source.write_text(json.dumps(_library()))
    built = new_twin("library", source, tmp_path / "library")
    assert built.check.error is None
    failed = [r for r in built.check.results if not r["passed"]]
    assert built.check.results and not failed, failed
    checked = {r["operation"] for r in built.check.results}
    assert checked == {"createShelf", "listShelves", "shelveBook", "listShelfBooks", "getShelfBook"}
    assert built.report["scenarios"]["not_made"] == []
    app = TwinApp(load_fresh(built.folder), snapshot_dir=tmp_path / "snapshots")
    with run_in_thread(app) as running:
        library = Shelf(built, running, "")
        for name in ("near", "far"):
            assert library.call("POST", "/shelves", {"name": name})[0] == 201
        for title in ("A", "B", "C"):
            status, book = library.call("POST", "/shelves/1/books", {"title": title, "id": 99})
            assert status == 201 and isinstance(book["id"], int) and book["id"] != 99
        _, first = library.call("GET", "/shelves/1/books")
        assert [b["title"] for b in first["items"]] == ["A", "B"] and first["count"] == 3
        _, rest = library.call("GET", "/shelves/1/books?offset=2")
        assert [b["title"] for b in rest["items"]] == ["C"]
        assert library.call("GET", "/shelves/2/books")[1]["items"] == []
        status, error = library.call("GET", "/shelves/2/books/1")
        assert status == 404 and error == {
            "error": {"code": "not_found", "message": "No book has the id '1'."}
        }
        status, error = library.call("POST", "/shelves", {})
        assert status == 422 and error["error"]["code"] == "invalid_arguments"
