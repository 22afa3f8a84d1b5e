"""Where a spec's code and tests go in the workspace, and the stub that makes tests fail first.

The paths follow from the spec's interface: a library module ``text_tools`` is
``text_tools.py`` (``a.b`` is ``a/b.py`` with an ``a/__init__.py``), its tests
``tests/test_text_tools.py``. The stub defines every function of the interface with its
exact signature, raising ``NotImplementedError``: tests written first must then fail for
the right reason (the missing behaviour), not because an import fails.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from localfactory.spec import CliInterface, LibraryInterface, ServiceInterface, Spec


@dataclass(frozen=True)
class Layout:
    module: str
    code_path: str
    test_path: str
    extra_files: tuple[tuple[str, str], ...] = ()
    """Files the layout needs besides the code (package ``__init__.py`` files)."""


def layout_for(spec: Spec) -> Layout:
    iface = spec.interface
    if isinstance(iface, LibraryInterface | ServiceInterface):
        module = iface.module
    else:
        assert isinstance(iface, CliInterface)
        module = iface.module_name()
    parts = module.split(".")
    code_path = "/".join(parts) + ".py"
    extra = tuple(("/".join(parts[:i]) + "/__init__.py", "") for i in range(1, len(parts)))
    return Layout(module, code_path, f"tests/test_{parts[-1]}.py", extra)


def function_names(spec: Spec) -> list[str]:
    iface = spec.interface
    if isinstance(iface, LibraryInterface):
        return [sig.split("(", 1)[0].strip() for sig in iface.functions]
    return ["main"]


def stub_source(spec: Spec) -> str:
    """A module with the interface's functions, each raising NotImplementedError."""
    iface = spec.interface
    lines = [
        f'"""{spec.name}: not implemented yet (written by localfactory before the tests)."""',
        "",
    ]
    if isinstance(iface, LibraryInterface):
        lines.append("from __future__ import annotations")
        lines.append("")
        for sig in iface.functions:
            name = sig.split("(", 1)[0].strip()
            lines += ["", f"def {sig}:", f"    raise NotImplementedError({name!r})", ""]
    else:
        lines += [
            "from __future__ import annotations",
            "",
            "import sys",
            "",
            "",
            "def main(argv: list[str] | None = None) -> int:",
            "    raise NotImplementedError('main')",
            "",
            "",
            'if __name__ == "__main__":',
            "    sys.exit(main())",
            "",
        ]
    source = "\n".join(lines)
    ast.parse(source)  # the spec validated the signatures; this keeps the stub honest
    return source
