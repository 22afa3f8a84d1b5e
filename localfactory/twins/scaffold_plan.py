"""The plan of a scaffolded twin: every operation of the document, what serves it, its schemas.

Made from an :class:`~localfactory.twins.scaffold_openapi.ApiDocument` without a model:
CRUD operations get handlers from :mod:`localfactory.twins.scaffold_runtime`, the others a
marked stub for the coder model (or a person) to write. ``notes`` says what the document
asks that the twin will not check, so the report can say so.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from typing import Any

from localfactory.twins.scaffold_crud import Kind, Resource, classify, paging_of
from localfactory.twins.scaffold_errors import error_template, invalid_status
from localfactory.twins.scaffold_openapi import ApiDocument, ApiOperation
from localfactory.twins.scaffold_runtime import Paging
from localfactory.twins.scaffold_schema import twin_schema


@dataclass
class OperationPlan:
    api: ApiOperation
    kind: Kind
    resource: Resource | None
    function: str
    """The Python name of its handler (custom operations) or of its schemas."""
    status: int
    query: dict[str, Any] | None = None
    body: dict[str, Any] | None = None
    paging: Paging | None = None

    @property
    def name(self) -> str:
        return self.api.operation_id

    @property
    def custom(self) -> bool:
        return self.kind == "custom"


@dataclass
class ScaffoldPlan:
    name: str
    document: ApiDocument
    resources: list[Resource]
    operations: list[OperationPlan]
    error_template: Any
    invalid_status: int
    notes: list[str] = field(default_factory=list)

    @property
    def custom(self) -> list[OperationPlan]:
        return [op for op in self.operations if op.custom]

    def operation(self, name: str) -> OperationPlan:
        return next(op for op in self.operations if op.name == name)


def plan_twin(name: str, document: ApiDocument) -> ScaffoldPlan:
    """Decide, for each operation of ``document``, what the twin does with it."""
    notes: list[str] = list(document.notes)
    resources, classified = classify(document.operations)
    used: set[str] = set()
    operations: list[OperationPlan] = []
    statuses: set[int] = set()
    for found in classified:
        api = found.op
        statuses.update(api.responses)
        success = api.success
        plan = OperationPlan(
            api=api,
            kind=found.kind,
            resource=found.resource,
            function=_function_name(api.operation_id, used),
            status=success.status if success is not None else 200,
        )
        plan.query = _query_schema(api, notes)
        if api.body_schema is not None:
            where = f"{api.label} body"
            plan.body = twin_schema(api.body_schema, request=True, notes=notes, where=where)
            plan.body.setdefault("type", "object")
        elif api.method in ("POST", "PUT", "PATCH") and found.kind != "custom":
            notes.append(f"{api.label} has no JSON body schema; any JSON body is accepted")
        if found.kind == "list" and found.resource is not None:
            plan.paging, ignored = paging_of(api, found.resource)
            for param in ignored:
                notes.append(f"{api.label}: the query parameter {param!r} is accepted but ignored")
        operations.append(plan)
    template = error_template(document.error_schema, notes)
    if not document.error_schema:
        notes.append("the document has no error schema; errors are {error, message}")
    return ScaffoldPlan(
        name=name,
        document=document,
        resources=resources,
        operations=operations,
        error_template=template,
        invalid_status=invalid_status(statuses),
        notes=notes,
    )


def _query_schema(api: ApiOperation, notes: list[str]) -> dict[str, Any] | None:
    params = api.params("query")
    if not params:
        return None
    props = {
        p.name: twin_schema(p.schema, request=True, notes=notes, where=f"{api.label} ?{p.name}")
        for p in params
    }
    for param in params:
        if param.description:
            props[param.name].setdefault("description", param.description)
    schema: dict[str, Any] = {"type": "object", "properties": props}
    wanted = [p.name for p in params if p.required]
    if wanted:
        schema["required"] = wanted
    return schema


def _function_name(operation_id: str, used: set[str]) -> str:
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", operation_id)
    name = re.sub(r"\W+", "_", words).strip("_").lower() or "operation"
    if name[0].isdigit() or keyword.iskeyword(name):
        name = "op_" + name
    base, n = name, 2
    while name in used:
        name, n = f"{base}_{n}", n + 1
    used.add(name)
    return name
