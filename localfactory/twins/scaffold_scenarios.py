"""Conformance scenarios made from an OpenAPI document, as data (``conformance.json``).

For each operation with a documented success response, one scenario sends the
document's example request (or, lacking one, a request made from the schemas) and
expects the documented status and the response's shape: required fields present, types
right. A path naming a record (``/books/{bookId}/archive``) first creates one with the
collection's create operation and uses its id. Values are checked where the document
makes them certain: fields of the request body echoed back, the fields the create step
set when a record is read, and for operations the scaffold cannot infer, the booleans and
enum values of the example response (``"archived": true``). Documented 404s get a
scenario asking for a record that does not exist; documented 400/422s on create, one
with an empty body.

A scenario: ``{"name", "operation", "from": "examples"|"schema", "steps": [{"operation",
"method", "path", "params", "query", "body", "save", "expect": {"status", "schema",
"values"}}]}``. ``"${book.id}"`` in params or bodies is the ``id`` of the answer saved as
``book``. :mod:`localfactory.twins.scaffold_conformance` runs them.
"""

from __future__ import annotations

from typing import Any

from localfactory.twins.scaffold_crud import Resource, is_param, segments
from localfactory.twins.scaffold_openapi import NO_EXAMPLE, ApiOperation
from localfactory.twins.scaffold_plan import OperationPlan, ScaffoldPlan
from localfactory.twins.scaffold_schema import example_of, properties, schema_types

Step = dict[str, Any]
Scenario = dict[str, Any]


def build_scenarios(plan: ScaffoldPlan) -> tuple[list[Scenario], list[str]]:
    """The scenarios of ``plan``'s document, and why some operations got none."""
    scenarios: list[Scenario] = []
    skipped: list[str] = []
    for op in plan.operations:
        success = op.api.success
        if success is None:
            skipped.append(f"{op.name}: no success response is documented")
            continue
        bound = _setup(plan, op.api.path, last_missing=False)
        if bound is None:
            skipped.append(f"{op.name}: no operation creates the record its path names")
            continue
        steps, binding, made = bound
        step = _request(plan, op, binding, success.status)
        step["expect"]["values"] = _values(op, step, made)
        scenarios.append(_scenario(op, "answers", [*steps, step]))
        read = _read_after_delete(plan, op, binding)
        if read is not None:
            scenarios[-1]["steps"].append(read)
        scenarios += _refusals(plan, op)
    return scenarios, skipped


def _scenario(op: OperationPlan, what: str, steps: list[Step]) -> Scenario:
    api = op.api
    examples = (
        api.body_example is not NO_EXAMPLE
        or any(r.example is not NO_EXAMPLE for r in api.responses.values())
        or any(p.example is not NO_EXAMPLE for p in api.parameters)
    )
    status = steps[-1]["expect"]["status"]
    return {
        "name": f"{op.name} {what} {status}",
        "operation": op.name,
        "from": "examples" if examples else "schema",
        "steps": steps,
    }


def _setup(
    plan: ScaffoldPlan, path: str, *, last_missing: bool
) -> tuple[list[Step], dict[int, Any], dict[str, Any]] | None:
    """Steps creating the records ``path`` names, and which value each parameter position takes.

    With ``last_missing`` the last parameter is a record that does not exist.
    """
    parts = segments(path)
    params = [i for i, s in enumerate(parts) if is_param(s)]
    steps: list[Step] = []
    binding: dict[int, Any] = {}
    made: dict[str, Any] = {}
    for position in params:
        resource = _resource_at(plan, parts[: position + 1])
        if last_missing and position == params[-1]:
            binding[position] = (
                999999 if resource and resource.id_kind == "integer" else "missing-0"
            )
            break
        create = _create_of(plan, resource) if resource is not None else None
        if resource is None or create is None or create.api.success is None:
            return None
        var = f"{resource.name}{len(steps) + 1}"
        step = _request(plan, create, binding, create.api.success.status)
        step["save"] = var
        steps.append(step)
        made = step["body"] if isinstance(step["body"], dict) else {}
        binding[position] = "${" + f"{var}.{resource.id_field}" + "}"
    return steps, binding, made


def _resource_at(plan: ScaffoldPlan, parts: list[str]) -> Resource | None:
    """The resource a path ending in a parameter names: by its item path, else its collection's."""

    def same(template: str | None, wanted: list[str]) -> bool:
        own = segments(template) if template is not None else None
        return (
            own is not None
            and len(own) == len(wanted)
            and all(
                a == b or (is_param(a) and is_param(b)) for a, b in zip(own, wanted, strict=True)
            )
        )

    found = next((r for r in plan.resources if same(r.item, parts)), None)
    return found or next((r for r in plan.resources if same(r.collection, parts[:-1])), None)


def _create_of(plan: ScaffoldPlan, resource: Resource) -> OperationPlan | None:
    return next((o for o in plan.operations if o.kind == "create" and o.resource is resource), None)


def _request(plan: ScaffoldPlan, op: OperationPlan, binding: dict[int, Any], status: int) -> Step:
    api = op.api
    parts = segments(api.path)
    params: dict[str, Any] = {}
    for position, part in enumerate(parts):
        if is_param(part):
            name = part[1:-1]
            if position in binding:
                params[name] = binding[position]
            else:
                params[name] = _param_example(api, name)
    query = {
        p.name: p.example if p.example is not NO_EXAMPLE else example_of(p.schema)
        for p in api.params("query")
        if p.required or (p.example is not NO_EXAMPLE and p.name not in _filters(op))
    }
    body: Any = None
    if api.body_schema is not None:
        body = (
            api.body_example if api.body_example is not NO_EXAMPLE else example_of(api.body_schema)
        )
    success = api.responses.get(status)
    expect: dict[str, Any] = {"status": status}
    if success is not None and success.schema is not None:
        expect["schema"] = success.schema
    return {
        "operation": op.name,
        "method": api.method,
        "path": plan.document.base_path + api.path,
        "params": params,
        "query": query,
        "body": body,
        "expect": expect,
    }


def _filters(op: OperationPlan) -> tuple[str, ...]:
    """A list's filters are left out of its request: the example's value may match nothing made."""
    return op.paging.filters if op.paging is not None else ()


def _param_example(api: ApiOperation, name: str) -> Any:
    found = next((p for p in api.parameters if p.name == name and p.location == "path"), None)
    if found is None:
        return "1"
    return found.example if found.example is not NO_EXAMPLE else example_of(found.schema)


def _values(op: OperationPlan, step: Step, made: dict[str, Any]) -> dict[str, Any]:
    """The response fields whose values the document makes certain."""
    schema = step["expect"].get("schema") or {}
    if "object" not in (schema_types(schema) or ["object"]):
        return {}
    fields = properties(schema)
    values: dict[str, Any] = {}
    if op.kind == "read":
        values.update({k: v for k, v in made.items() if k in fields})
    if isinstance(step["body"], dict):
        values.update({k: v for k, v in step["body"].items() if k in fields})
    success = op.api.success
    example = success.example if success is not None else NO_EXAMPLE
    if op.custom and isinstance(example, dict):
        for name, value in example.items():
            sub = fields.get(name, {})
            if isinstance(value, bool) or ("enum" in sub and value in sub["enum"]):
                values.setdefault(name, value)
    return values


def _read_after_delete(
    plan: ScaffoldPlan, op: OperationPlan, binding: dict[int, Any]
) -> Step | None:
    if op.kind != "delete" or op.resource is None:
        return None
    read = next(
        (o for o in plan.operations if o.kind == "read" and o.resource is op.resource), None
    )
    if read is None or 404 not in read.api.responses:
        return None
    step = _request(plan, read, binding, 404)
    step["expect"] = {"status": 404, "schema": read.api.responses[404].schema}
    return step


def _refusals(plan: ScaffoldPlan, op: OperationPlan) -> list[Scenario]:
    found: list[Scenario] = []
    if 404 in op.api.responses and any(is_param(s) for s in segments(op.api.path)):
        bound = _setup(plan, op.api.path, last_missing=True)
        if bound is not None:
            steps, binding, _ = bound
            step = _request(plan, op, binding, 404)
            step["expect"] = {"status": 404, "schema": op.api.responses[404].schema}
            found.append(_scenario(op, "refuses a missing record with", [*steps, step]))
    invalid = plan.invalid_status if plan.invalid_status in op.api.responses else None
    wanted = op.body.get("required") if op.body else None
    if op.kind == "create" and invalid is not None and wanted:
        bound = _setup(plan, op.api.path, last_missing=False)
        if bound is not None:
            steps, binding, _ = bound
            step = _request(plan, op, binding, invalid)
            step["body"] = {}
            step["expect"] = {"status": invalid, "schema": op.api.responses[invalid].schema}
            found.append(_scenario(op, "refuses an empty body with", [*steps, step]))
    return found
