"""Reading a user's OpenAPI 3.0/3.1 document into the operations a twin is scaffolded from.

The document (JSON, or YAML when the file says so) is checked as it is read: anything the
scaffold cannot use is refused with one :class:`OpenAPIError` naming what is wrong and
where (``paths['/books'].get.responses``). Local ``$ref``s are resolved in place; a schema
that refers to itself is cut at the second visit (left unchecked there).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from localfactory.errors import UserError

METHODS = ("get", "post", "put", "patch", "delete")
NO_EXAMPLE: Any = object()
"""An example that the document does not give (None is a valid example)."""

_STATUS = re.compile(r"^[1-5](?:\d\d|XX)$")
_TEMPLATE_PARAM = re.compile(r"\{([^{}/]+)\}")


class OpenAPIError(UserError):
    """The OpenAPI document cannot be scaffolded from."""


@dataclass
class ApiParameter:
    name: str
    location: str
    """``path`` or ``query`` (header and cookie parameters are not modelled)."""
    required: bool
    schema: dict[str, Any]
    description: str = ""
    example: Any = NO_EXAMPLE


@dataclass
class ApiResponse:
    status: int
    description: str = ""
    schema: dict[str, Any] | None = None
    example: Any = NO_EXAMPLE


@dataclass
class ApiOperation:
    method: str
    """Upper case: ``GET``."""
    path: str
    """As in the document, relative to the server's base path: ``/books/{bookId}``."""
    operation_id: str
    summary: str = ""
    description: str = ""
    parameters: list[ApiParameter] = field(default_factory=list)
    body_schema: dict[str, Any] | None = None
    body_required: bool = False
    body_example: Any = NO_EXAMPLE
    responses: dict[int, ApiResponse] = field(default_factory=dict)
    secured: bool = False

    @property
    def success(self) -> ApiResponse | None:
        """The first 2xx response documented."""
        found = sorted(s for s in self.responses if 200 <= s < 300)
        return self.responses[found[0]] if found else None

    def params(self, location: str) -> list[ApiParameter]:
        return [p for p in self.parameters if p.location == location]

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class ApiDocument:
    title: str
    version: str
    description: str
    base_path: str
    """The path part of the first server URL (``/v1``), where the API starts."""
    operations: list[ApiOperation]
    error_schema: dict[str, Any] | None
    """The schema most 4xx responses share, if any."""
    error_example: Any = NO_EXAMPLE
    notes: list[str] = field(default_factory=list)
    """What of the document the twin will not honour (for the report)."""


def read_document(path: Path) -> dict[str, Any]:
    """The parsed document in ``path``: JSON, or YAML for ``.yaml``/``.yml`` files."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise OpenAPIError(
            f"There is no OpenAPI document at {path}.", hint="Check the path given to --from."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise OpenAPIError(f"Cannot read the OpenAPI document {path}: {exc}.") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise OpenAPIError(f"{path} is not valid YAML: {exc}.") from None
    else:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise OpenAPIError(
                f"{path} is not valid JSON: {exc}.",
                hint="Write the document as JSON, or name a YAML file .yaml.",
            ) from None
    if not isinstance(data, dict):
        raise OpenAPIError(f"{path} holds a {type(data).__name__}, not an OpenAPI document.")
    return data


def load_document(path: Path) -> ApiDocument:
    """Read and check ``path``; raises :class:`OpenAPIError` for what cannot be scaffolded."""
    from localfactory.twins.scaffold_refs import resolve_refs

    raw = read_document(path)
    version = raw.get("openapi")
    if not isinstance(version, str) or not re.match(r"^3\.[01]\.\d+", version):
        given = f"'swagger': {raw['swagger']!r}" if "swagger" in raw else f"'openapi': {version!r}"
        raise OpenAPIError(
            f"{path} is not an OpenAPI 3.0 or 3.1 document ({given}).",
            hint="Convert Swagger 2.0 documents to OpenAPI 3 first.",
        )
    document = resolve_refs(raw, _fail)
    return _document(document)


def _fail(where: str, problem: str) -> OpenAPIError:
    return OpenAPIError(
        f"The OpenAPI document is malformed at {where}: {problem}.",
        hint="Fix that part of the document (an OpenAPI validator lists every problem at once).",
    )


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, f"expected an object, found {type(value).__name__}")
    return value


def _document(doc: dict[str, Any]) -> ApiDocument:
    info = _object(doc.get("info", {}), "info")
    paths = doc.get("paths")
    if not isinstance(paths, dict) or not paths:
        raise _fail("paths", "the document has no paths, so there is nothing to serve")
    default_security = doc.get("security", [])
    schemes = doc.get("components", {}).get("securitySchemes", {})
    notes: list[str] = []
    operations: list[ApiOperation] = []
    for path, item in paths.items():
        where = f"paths[{path!r}]"
        if not isinstance(path, str) or not path.startswith("/"):
            raise _fail(where, "a path must start with '/'")
        item = _object(item, where)
        shared = _parameters(item.get("parameters", []), f"{where}.parameters")
        for method in METHODS:
            if method in item:
                at = f"{where}.{method}"
                op = _operation(method, path, _object(item[method], at), shared, at)
                required = item[method].get("security", default_security)
                op.secured = _secured(required, schemes, at, notes)
                operations.append(op)
    if not operations:
        raise _fail("paths", f"no path has a {', '.join(METHODS)} operation")
    seen: dict[str, str] = {}
    for op in operations:
        if op.operation_id in seen:
            raise _fail(
                f"paths[{op.path!r}].{op.method.lower()}.operationId",
                f"{op.operation_id!r} is also the operationId of {seen[op.operation_id]}",
            )
        seen[op.operation_id] = op.label
    error_schema, error_example = _error_schema(operations)
    return ApiDocument(
        title=str(info.get("title") or "API"),
        version=str(info.get("version") or "0.0.0"),
        description=str(info.get("description") or ""),
        base_path=_base_path(doc.get("servers")),
        operations=operations,
        error_schema=error_schema,
        error_example=error_example,
        notes=notes,
    )


def _secured(required: Any, schemes: Any, where: str, notes: list[str]) -> bool:
    """Whether the operation needs a token the twin can check (in the Authorization header)."""
    if not isinstance(required, list) or not required:
        return False
    names = [n for option in required if isinstance(option, dict) for n in option]
    kinds = [schemes.get(n, {}) if isinstance(schemes, dict) else {} for n in names]
    if any(
        k.get("type") == "apiKey" and k.get("in") != "header" for k in kinds if isinstance(k, dict)
    ):
        notes.append(f"{where}: an API key outside a header is not checked")
        return False
    if any(isinstance(k, dict) and k.get("type") == "apiKey" for k in kinds):
        notes.append(f"{where}: the API key header is not checked; a bearer token is")
    return True


def _operation(
    method: str, path: str, spec: dict[str, Any], shared: list[ApiParameter], where: str
) -> ApiOperation:
    path = _TEMPLATE_PARAM.sub(lambda m: "{" + python_name(m.group(1)) + "}", path)
    own = _parameters(spec.get("parameters", []), f"{where}.parameters")
    names = {(p.name, p.location) for p in own}
    parameters = [p for p in shared if (p.name, p.location) not in names] + own
    declared = {p.name for p in parameters if p.location == "path"}
    for name in _TEMPLATE_PARAM.findall(path):
        if name not in declared:  # documents often forget these; a string is what arrives
            parameters.append(ApiParameter(name, "path", True, {"type": "string"}))
    op = ApiOperation(
        method=method.upper(),
        path=path,
        operation_id=str(spec.get("operationId") or _made_up_id(method, path)),
        summary=str(spec.get("summary") or ""),
        description=str(spec.get("description") or ""),
        parameters=parameters,
    )
    if "requestBody" in spec:
        body = _object(spec["requestBody"], f"{where}.requestBody")
        op.body_required = bool(body.get("required", False))
        op.body_schema, op.body_example = _json_content(body, f"{where}.requestBody")
    responses = spec.get("responses")
    if not isinstance(responses, dict) or not responses:
        raise _fail(f"{where}.responses", "every operation needs at least one response")
    for code, response in responses.items():
        at = f"{where}.responses[{str(code)!r}]"
        code = str(code)
        if code == "default":
            continue
        if not _STATUS.match(code):
            raise _fail(at, f"{code!r} is not an HTTP status code")
        status = int(code.replace("XX", "00"))
        response = _object(response, at)
        schema, example = _json_content(response, at)
        op.responses[status] = ApiResponse(
            status, str(response.get("description") or ""), schema, example
        )
    return op


def _parameters(raw: Any, where: str) -> list[ApiParameter]:
    if not isinstance(raw, list):
        raise _fail(where, "parameters must be a list")
    found: list[ApiParameter] = []
    for i, item in enumerate(raw):
        at = f"{where}[{i}]"
        item = _object(item, at)
        name, location = item.get("name"), item.get("in")
        if not isinstance(name, str) or not name:
            raise _fail(at, "a parameter needs a name")
        if location not in ("path", "query", "header", "cookie"):
            raise _fail(at, f"'in' must be path, query, header or cookie, not {location!r}")
        if location in ("header", "cookie"):
            continue
        schema = item.get("schema", {"type": "string"})
        example = item.get("example", NO_EXAMPLE)
        examples = item.get("examples")
        if example is NO_EXAMPLE and isinstance(examples, dict) and examples:
            first = next(iter(examples.values()))
            example = first.get("value", NO_EXAMPLE) if isinstance(first, dict) else NO_EXAMPLE
        found.append(
            ApiParameter(
                python_name(name) if location == "path" else name,
                location,
                bool(item.get("required", location == "path")),
                _object(schema, f"{at}.schema"),
                str(item.get("description") or ""),
                example,
            )
        )
    return found


def _json_content(holder: dict[str, Any], where: str) -> tuple[dict[str, Any] | None, Any]:
    """The JSON schema and example of a request body or response, if it has JSON content."""
    content = holder.get("content")
    if content is None:
        return None, NO_EXAMPLE
    content = _object(content, f"{where}.content")
    media = next((k for k in content if k.split(";")[0].strip().endswith("json")), None)
    if media is None:
        return None, NO_EXAMPLE
    at = f"{where}.content[{media!r}]"
    entry = _object(content[media] or {}, at)
    schema = entry.get("schema")
    if schema is not None:
        schema = _object(schema, f"{at}.schema")
    example = entry.get("example", NO_EXAMPLE)
    examples = entry.get("examples")
    if example is NO_EXAMPLE and isinstance(examples, dict) and examples:
        first = next(iter(examples.values()))
        if isinstance(first, dict):
            example = first.get("value", NO_EXAMPLE)
    if example is NO_EXAMPLE and isinstance(schema, dict) and "example" in schema:
        example = schema["example"]
    return schema, example


def _error_schema(operations: list[ApiOperation]) -> tuple[dict[str, Any] | None, Any]:
    """The schema most 4xx responses share (the document's error body), with an example of it."""
    counts: dict[str, tuple[int, dict[str, Any], Any]] = {}
    for op in operations:
        for status, response in op.responses.items():
            if 400 <= status < 500 and response.schema is not None:
                key = json.dumps(response.schema, sort_keys=True, default=str)
                count, schema, example = counts.get(key, (0, response.schema, NO_EXAMPLE))
                if example is NO_EXAMPLE:
                    example = response.example
                counts[key] = (count + 1, schema, example)
    if not counts:
        return None, NO_EXAMPLE
    _, schema, example = max(counts.values(), key=lambda c: c[0])
    return schema, example


def _base_path(servers: Any) -> str:
    if not isinstance(servers, list) or not servers or not isinstance(servers[0], dict):
        return ""
    url = str(servers[0].get("url") or "")
    for name, variable in (servers[0].get("variables") or {}).items():
        if isinstance(variable, dict):
            url = url.replace("{" + name + "}", str(variable.get("default", "")))
    return urlparse(url).path.rstrip("/")


def python_name(name: str) -> str:
    """A path parameter's name as the twin routes it (``book-id`` -> ``book_id``)."""
    cleaned = re.sub(r"\W", "_", name)
    return cleaned if cleaned[:1].isalpha() or cleaned[:1] == "_" else "p_" + cleaned


def _made_up_id(method: str, path: str) -> str:
    words = [w for w in re.split(r"[^A-Za-z0-9]+", path) if w]
    return method.lower() + "".join(w[:1].upper() + w[1:] for w in words)
