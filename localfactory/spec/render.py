"""A spec as text: the prompt section the models read, and the one-line summary people read.

Holdout scenarios live in ``scenarios/<spec-name>/`` and are never part of a :class:`Spec`,
so nothing rendered here can leak them into a prompt.
"""

from __future__ import annotations

from localfactory.spec.model import (
    CliInterface,
    LibraryInterface,
    ServiceInterface,
    Spec,
    format_duration,
)

_KIND_WORDS = {
    "library": "Python library",
    "cli": "command-line tool",
    "http-service": "HTTP service",
}


def render_for_prompt(spec: Spec, *, criteria: bool = True) -> str:
    """The spec as Markdown for a model's prompt: description, interface, acceptance criteria."""
    parts = [f"# {spec.name} ({_KIND_WORDS[spec.kind]}, {spec.language})"]
    description = spec.description.strip()
    if description.startswith("# "):  # the body's own title repeats the one above
        description = description.partition("\n")[2].strip()
    if description:
        parts.append(description)
    parts.append("## Interface\n" + render_interface(spec))
    if criteria:
        numbered = "\n".join(f"{i}. {c}" for i, c in enumerate(spec.acceptance, 1))
        parts.append("## Acceptance criteria\n" + numbered)
    if spec.twins:
        parts.append("## Services it talks to\n" + "\n".join(f"- {t}" for t in spec.twins))
    return "\n\n".join(parts) + "\n"


def render_interface(spec: Spec) -> str:
    iface = spec.interface
    if isinstance(iface, LibraryInterface):
        lines = [f"Module `{iface.module}` (file `{iface.module.replace('.', '/')}.py`) defines:"]
        lines += [f"- `def {sig}`" for sig in iface.functions]
        for c in iface.classes:
            lines.append(f"- `{c.header()}`" + (" with the methods:" if c.methods else ""))
            lines += [f"  - `def {sig}`" for sig in c.methods]
        return "\n".join(lines)
    if isinstance(iface, CliInterface):
        lines = [
            f"Command `{iface.command}`, implemented as `main()` in module `{iface.module_name()}`.",
            f"Usage: `{iface.usage}`",
        ]
        for arg in iface.arguments:
            default = f" (default: {arg.default})" if arg.default is not None else ""
            lines.append(f"- `{arg.name}` ({arg.type}): {arg.help}{default}".rstrip(": "))
        if iface.exit_codes:
            lines.append("Exit codes:")
            lines += [f"- {code}: {meaning}" for code, meaning in sorted(iface.exit_codes.items())]
        return "\n".join(lines)
    assert isinstance(iface, ServiceInterface)
    lines = [
        f"Module `{iface.module}`, started with `{iface.start_command()}` "
        "(`{port}` is the port to listen on, on 127.0.0.1).",
        "Routes:",
    ]
    lines += [f"- `{route}`: {answer}" for route, answer in iface.routes.items()]
    return "\n".join(lines)


def summary(spec: Spec) -> str:
    """One line for people: name, kind, number of criteria, budget."""
    b = spec.budget
    n = len(spec.acceptance)
    return (
        f"{spec.name}: {_KIND_WORDS[spec.kind]}, {n} acceptance criteri{'on' if n == 1 else 'a'}, "
        f"budget {b.iterations} iterations / {b.tokens:,} tokens / {format_duration(b.wall_time)}, "
        f"risk {spec.risk.level}"
    )
