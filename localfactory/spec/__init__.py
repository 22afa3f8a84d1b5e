"""Specs: what a person asks the factory to build.

A spec is one Markdown file with YAML front matter::

    ---
    name: text-tools              # a slug: lowercase letters, digits, dashes
    kind: library                 # library | cli | http-service
    language: python              # optional; python is the only one supported yet
    interface:                    # the public surface; its shape depends on kind
      module: text_tools
      functions:
        - 'slugify(text: str) -> str'      # quote values that contain ': '
    twins: []                     # optional: digital twins it talks to
    risk: low                     # optional: low | medium | high, or {level: high, reasons: [...]}
    budget: {iterations: 6, tokens: 100000, wall_time: 10m}   # optional
    models: {coder: qwen2.5-coder-1.5b}                       # optional, per role
    ---
    # Text tools
    The description the planner reads...

    ## Acceptance criteria
    - slugify("Hello, World!") returns "hello-world".

The acceptance criteria live primarily in the body, as the bullet list under an
``## Acceptance criteria`` heading (no YAML quoting needed). A front matter
``acceptance:`` list is accepted instead, never both.

Interfaces by kind:

- ``library``: ``module``, ``functions`` (signatures without ``def``) and/or ``classes``
  (each ``name`` and ``methods``, signatures with ``self``:
  ``{name: LRUCache, methods: ['__init__(self, capacity: int) -> None', 'get(self, key)']}``).
- ``cli``: ``command``, ``usage``, optional ``module`` (holds ``main()``), ``arguments``
  (``name``, ``help``, ``type``: str|int|float|path|flag, ``default``) and ``exit_codes``.
- ``http-service``: ``module``, ``routes`` (``"GET /path": what it answers``), optional
  ``start`` (command line with ``{port}``; default ``python -m MODULE --port {port}``).

Holdout scenarios are never part of a spec: they live in ``scenarios/<spec-name>/``
(see :mod:`localfactory.spec.scenario`).
"""

from localfactory.spec.load import SpecError, load_spec, parse_spec
from localfactory.spec.model import (
    Budget,
    CliArgument,
    CliInterface,
    LibraryInterface,
    Risk,
    RoleModels,
    ServiceInterface,
    Spec,
)
from localfactory.spec.render import render_for_prompt, summary

__all__ = [
    "Budget",
    "CliArgument",
    "CliInterface",
    "LibraryInterface",
    "Risk",
    "RoleModels",
    "ServiceInterface",
    "Spec",
    "SpecError",
    "load_spec",
    "parse_spec",
    "render_for_prompt",
    "summary",
]
