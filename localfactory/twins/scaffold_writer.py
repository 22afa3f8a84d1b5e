"""Writing a scaffolded twin's package: readable Python a person (or the coder model) can edit.

The folder gets ``twin.toml`` and a package declared with the framework like the shipped
twins: ``resources.py`` (one :class:`~localfactory.twins.scaffold_runtime.Collection` per
resource), ``schemas.py`` (request schemas), ``errors.py`` (the error template),
``operations.py`` (one ``twin.operation`` per path and method) and ``handlers.py``, where
each operation the scaffold could not infer is a function marked ``# localfactory:handler``
that answers 501 until someone writes it.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

from localfactory.twins.scaffold_crud import Resource
from localfactory.twins.scaffold_plan import OperationPlan, ScaffoldPlan
from localfactory.twins.scaffold_runtime import Paging

MARKER = "# localfactory:handler"
STUB_LINE = "    raise not_implemented(call)"
_HEADER = "# Written by `localfactory twin new` from {source}.\n"


def write_package(plan: ScaffoldPlan, folder: Path, source: str) -> list[Path]:
    """Write the twin's files into ``folder`` (created); returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "twin.toml": _manifest(plan),
        "__init__.py": _init(plan, source),
        "resources.py": _resources(plan, source),
        "schemas.py": _schemas(plan, source),
        "errors.py": _errors(plan, source),
        "operations.py": _operations(plan, source),
        "handlers.py": _handlers(plan, source),
    }
    written = []
    for name, text in files.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def default_port(name: str) -> int:
    """A stable port for the twin (4720-4919), away from the shipped twins' 4711-4714."""
    return 4720 + zlib.crc32(name.encode()) % 200


def _literal(value: Any, indent: int = 0) -> str:
    """``value`` as Python source, one line when it fits, else one item per line (black's way)."""
    flat = _flat(value)
    if indent + len(flat) <= 88 or not isinstance(value, dict | list | tuple) or not value:
        return flat
    pad = " " * (indent + 4)
    if isinstance(value, dict):
        items = [f"{pad}{_flat(k)}: {_literal(v, indent + 4)}," for k, v in value.items()]
        return "{\n" + "\n".join(items) + "\n" + " " * indent + "}"
    opening, closing = ("[", "]") if isinstance(value, list) else ("(", ")")
    items = [f"{pad}{_literal(v, indent + 4)}," for v in value]
    return opening + "\n" + "\n".join(items) + "\n" + " " * indent + closing


def _flat(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flat(k)}: {_flat(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flat(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(_flat(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


def _manifest(plan: ScaffoldPlan) -> str:
    doc = plan.document
    lines = [
        f"name = {json.dumps(plan.name)}",
        f"title = {json.dumps(doc.title + ' (twin from OpenAPI)')}",
        f"description = {json.dumps(_first_sentence(doc.description) or 'Scaffolded from an OpenAPI document.')}",
        f"default_port = {default_port(plan.name)}",
        f"base_path = {json.dumps((doc.base_path or '') + '/')}",
        'sdk = ""',
    ]
    return "\n".join(lines) + "\n"


def _first_sentence(text: str) -> str:
    first = text.strip().split("\n\n")[0].replace("\n", " ")
    return first[:300]


def _init(plan: ScaffoldPlan, source: str) -> str:
    doc = plan.document
    return f'''"""A digital twin of {doc.title} {doc.version}, scaffolded from its OpenAPI document.

Serve it with ``localfactory twin up {plan.name} --local``; a token comes from
``POST /_twin/tokens``, and ``POST /_twin/seed`` takes lists of records by collection.
"""

{_HEADER.format(source=source)}
from __future__ import annotations

from localfactory.twins import Twin
from localfactory.twins.scaffold_runtime import TOKENS, GeneratedWorld, issue_token, seeder

from . import operations
from .errors import ERRORS
from .resources import COLLECTIONS

VERSION = {json.dumps(doc.version)}


def build() -> Twin:
    twin = Twin(
        {json.dumps(plan.name)},
        title={json.dumps(doc.title + " (localfactory twin)")},
        version=VERSION,
        state=GeneratedWorld,
        errors=ERRORS,
        tokens=TOKENS,
        issue_token=issue_token,
        seed=seeder(COLLECTIONS),
        prefix={json.dumps(doc.base_path)},
        description=__doc__ or "",
    )
    operations.register(twin)
    return twin
'''


def _head(docstring: str, source: str, *imports: str) -> list[str]:
    """The opening blocks of a generated module: docstring, provenance, imports."""
    return [
        f'"""{docstring}"""\n',
        _HEADER.format(source=source),
        "from __future__ import annotations\n",
        *(line + "\n" for line in imports),
    ]


def _resources(plan: ScaffoldPlan, source: str) -> str:
    parts = _head(
        "The records this twin keeps, one collection per resource of the document.",
        source,
        "from localfactory.twins.scaffold_runtime import Collection, Paging",
    )
    for resource in plan.resources:
        parts.append(f"{resource.constant} = {_collection(resource)}\n")
    names = ", ".join(r.constant for r in plan.resources)
    parts.append(f"COLLECTIONS = [{names}]\n")
    for op in plan.operations:
        if op.paging is not None:
            fields = {k: v for k, v in vars(op.paging).items() if v != _DEFAULT_PAGING[k]}
            parts.append(f"{op.function.upper()}_PAGING = {_call('Paging', fields)}\n")
    return "\n".join(parts)


_DEFAULT_PAGING = vars(Paging())


def _collection(resource: Resource) -> str:
    fields = tuple(resource.record_schema.get("properties", {}))
    args = {
        "name": resource.name,
        "path": resource.collection,
        "id_field": resource.id_field,
        "id_param": resource.id_param,
        "id_kind": resource.id_kind,
        "fields": fields,
        "defaults": resource.defaults,
        "created_fields": tuple(resource.created_fields),
        "updated_fields": tuple(resource.updated_fields),
        "read_only": tuple(resource.read_only),
    }
    return _call("Collection", args)


def _call(function: str, args: dict[str, Any]) -> str:
    lines = [f"    {k}={_literal(v, 4)}," for k, v in args.items()]
    return f"{function}(\n" + "\n".join(lines) + "\n)"


def _schemas(plan: ScaffoldPlan, source: str) -> str:
    parts = _head(
        "Request schemas of each operation (the subset of JSON Schema a twin checks).",
        source,
        "from typing import Any",
    )
    for op in plan.operations:
        for part, schema in (("QUERY", op.query), ("BODY", op.body)):
            if schema is not None:
                name = f"{op.function.upper()}_{part}"
                parts.append(f"{name}: dict[str, Any] = {_literal(schema)}\n")
    return "\n".join(parts)


def _errors(plan: ScaffoldPlan, source: str) -> str:
    return f'''"""This twin's error bodies: the document's error shape, filled in for each refusal.

Placeholders: "$code" (not_found, invalid_arguments...), "$message", "$status", "$details".
"""

{_HEADER.format(source=source)}
from __future__ import annotations

from localfactory.twins.scaffold_errors import ShapedErrors

TEMPLATE = {_literal(plan.error_template)}

ERRORS = ShapedErrors(TEMPLATE, invalid_status={plan.invalid_status})
'''


_FACTORIES = {
    "create": "creator({r})",
    "list": "lister({r}, resources.{f}_PAGING)",
    "read": "reader({r})",
    "replace": "replacer({r})",
    "update": "updater({r})",
    "delete": "deleter({r}, answer_record={a})",
}


def _operations(plan: ScaffoldPlan, source: str) -> str:
    lines = [
        '"""Every operation of the document: CRUD ones served by the scaffold\'s handlers, the rest by handlers.py."""',
        "",
        _HEADER.format(source=source),
        "from __future__ import annotations",
        "",
        "from localfactory.twins import Twin",
        "from localfactory.twins.scaffold_runtime import (",
        "    creator,",
        "    deleter,",
        "    lister,",
        "    reader,",
        "    replacer,",
        "    updater,",
        ")",
        "",
        "from . import handlers, resources, schemas",
        "",
        "",
        "def register(twin: Twin) -> None:",
        "    op = twin.operation",
    ]
    for op in plan.operations:
        lines += _declaration(op)
    return "\n".join(lines) + "\n"


def _declaration(op: OperationPlan) -> list[str]:
    options = [json.dumps(op.api.method), json.dumps(op.api.path), f"name={json.dumps(op.name)}"]
    summary = op.api.summary or op.api.description.split("\n")[0]
    if summary:
        options.append(f"summary={json.dumps(summary[:120])}")
    if op.status != 200:
        options.append(f"status={op.status}")
    if not op.api.secured:
        options.append("auth=False")
    if op.query is not None:
        options.append(f"query=schemas.{op.function.upper()}_QUERY")
    if op.body is not None:
        options.append(f"body=schemas.{op.function.upper()}_BODY")
    if op.custom or op.resource is None:
        handler = f"handlers.{op.function}"
    else:
        answers = op.status != 204
        handler = _FACTORIES[op.kind].format(
            r=f"resources.{op.resource.constant}", f=op.function.upper(), a=answers
        )
    out = ["    op("] + [f"        {o}," for o in options] + [f"    )({handler})"]
    return out


def _handlers(plan: ScaffoldPlan, source: str) -> str:
    constants = ", ".join(r.constant for r in plan.resources)
    lines = [
        '"""Operations the scaffold could not infer from the document: written by the coder model or by hand.',
        "",
        f"Each is marked ``{MARKER} <operationId>``. Until its body is written it answers 501.",
        "The collections in resources.py do the bookkeeping: ``BOOKS.find(call)`` is the record",
        "the path names (404 when missing), ``BOOKS.save(call, record)`` stores a change,",
        "``BOOKS.add(call, fields)`` creates one, ``BOOKS.all(call)`` lists them.",
        '"""',
        "",
        _HEADER.format(source=source),
        "from __future__ import annotations",
        "",
        "from typing import Any",
        "",
        "from localfactory.twins import Call, Refusal, Reply  # noqa: F401",
        "from localfactory.twins.scaffold_runtime import not_implemented, now_iso  # noqa: F401",
    ]
    if constants:
        lines += ["", f"from .resources import {constants}  # noqa: F401"]
    for op in plan.operations:
        if op.custom or op.resource is None:
            lines += ["", "", *stub(op)]
    return "\n".join(lines) + "\n"


def stub(op: OperationPlan) -> list[str]:
    """The marked, unwritten handler of ``op`` (lines of handlers.py)."""
    api = op.api
    doc = [f"{api.method} {api.path}: {api.summary or api.operation_id}."]
    if api.description:
        doc += ["", *api.description.strip().splitlines()]
    doc += ["", f"Answers {op.status} on success."]
    text = "\n".join(doc).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    body = "\n".join(("    " + line).rstrip() for line in text.splitlines())
    return [
        f"{MARKER} {op.name}",
        f"def {op.function}(call: Call) -> Any:",
        f'    """{body.strip()}\n    """',
        STUB_LINE,
    ]
