"""Condensed feedback for the repair loop: what failed and why, in a few hundred tokens.

Small models lose the thread in long tool output. These functions keep what a person
would read first: the failing test names, the assertion with its values, the line where it
failed, and each tool's summary line, within ``max_chars``.

Run pytest with ``-q --tb=short`` (and ideally ``--junitxml=FILE``); ruff with
``check --output-format=concise``; mypy as usual (``--no-error-summary`` not needed).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_MAX_CHARS = 2500
_LINES_PER_FAILURE = 12
_SECTION = re.compile(r"^_{3,} (.+?) _{3,}$")
_BANNER = re.compile(r"^={3,} (.+?) ={3,}$")
_SUMMARY = re.compile(r"^=*\s*((?:\d+ \w+(?:, )?)+)(?: in [\d.]+s.*?)?\s*=*$")
_NOISE = ("Use -v to get more diff", "Use -vv to get more diff", "Omitting ", "use -vv to show")
_RUFF = re.compile(r"^(?P<path>[^\s:]+):(?P<line>\d+):(?P<col>\d+): (?P<rest>.+)$")
_MYPY = re.compile(
    r"^(?P<path>[^\s:]+):(?P<line>\d+):(?:\d+:)? (?P<level>error|note): (?P<rest>.+)$"
)


@dataclass(frozen=True)
class Failure:
    """One failing test (or a collection error)."""

    test: str
    message: str = ""
    details: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Feedback:
    tool: str
    summary: str
    failures: list[Failure]
    text: str
    """The condensed feedback, at most ``max_chars`` long."""

    @property
    def failing(self) -> list[str]:
        return [f.test for f in self.failures]


def _keep(line: str) -> bool:
    stripped = line.strip()
    return stripped not in ("", "E") and not any(noise in stripped for noise in _NOISE)


def _trim_details(lines: list[str]) -> list[str]:
    """Keep locations, the failing source line and the ``E`` lines; drop noise and long frames."""
    kept = [ln.rstrip() for ln in lines if _keep(ln)]
    if len(kept) <= _LINES_PER_FAILURE:
        return kept
    errors = [ln for ln in kept if ln.lstrip().startswith("E ")]
    frames = [ln for ln in kept if not ln.lstrip().startswith("E ")]
    room = max(_LINES_PER_FAILURE - min(len(errors), 8), 2)
    return frames[-room:] + errors[:8]


def _parse_text(output: str) -> tuple[list[Failure], str]:
    failures: list[Failure] = []
    summary = ""
    current: str | None = None
    body: list[str] = []
    in_report = False
    for line in output.splitlines():
        banner = _BANNER.match(line)
        if banner:
            title = banner.group(1)
            if current is not None:
                failures.append(_failure(current, body))
                current, body = None, []
            in_report = title in ("FAILURES", "ERRORS")
            summary_match = _SUMMARY.match(line)
            if summary_match and re.search(r"\d+ (passed|failed|error)", title):
                summary = summary_match.group(1)
            continue
        section = _SECTION.match(line) if in_report else None
        if section:
            if current is not None:
                failures.append(_failure(current, body))
            current, body = section.group(1), []
        elif current is not None:
            body.append(line)
        elif re.match(r"^\d+ (passed|failed|errors?|skipped|deselected|xfailed)", line.strip()):
            summary = line.strip().split(" in ")[0]
    if current is not None:
        failures.append(_failure(current, body))
    return failures, summary


def _failure(title: str, body: list[str]) -> Failure:
    errors = [ln.strip()[1:].strip() for ln in body if ln.lstrip().startswith("E ")]
    message = errors[0] if errors else next((ln.strip() for ln in reversed(body) if ln.strip()), "")
    return Failure(test=title, message=message, details=_trim_details(body))


def _test_id(classname: str, name: str) -> str:
    """``pkg.test_mod.TestClass`` + ``test_x`` → ``pkg/test_mod.py::TestClass::test_x``."""
    parts = classname.split(".") if classname else []
    classes: list[str] = []
    while parts and parts[-1][:1].isupper():
        classes.insert(0, parts.pop())
    module = "/".join(parts) + ".py" if parts else ""
    return "::".join(p for p in (module, *classes, name) if p)


def _parse_junit(xml_text: str) -> list[Failure]:
    failures = []
    root = ET.fromstring(xml_text)
    for case in root.iter("testcase"):
        for tag in ("failure", "error"):
            node = case.find(tag)
            if node is None:
                continue
            test = _test_id(case.get("classname", ""), case.get("name", ""))
            body = (node.text or "").splitlines()
            message = (node.get("message") or "").splitlines()[0:1]
            failures.append(
                Failure(
                    test=test, message=message[0] if message else "", details=_trim_details(body)
                )
            )
    return failures


def pytest_feedback(
    output: str, junit_xml: str | Path | None = None, *, max_chars: int = DEFAULT_MAX_CHARS
) -> Feedback:
    """Condense a pytest run: ``output`` is its stdout (``-q --tb=short``), ``junit_xml`` its report."""
    failures, summary = _parse_text(output)
    if junit_xml is not None:
        failures = _merge_junit(failures, junit_xml)
    if not summary:
        summary = "no test summary found (did pytest start?)"
        tail = [ln for ln in output.splitlines() if ln.strip()][-5:]
        failures = failures or ([Failure("pytest", tail[-1], tail)] if tail else [])
    return _render("pytest", summary, [_plain_timeout(f) for f in failures], max_chars)


_TIMEOUT = re.compile(r"Failed: Timeout \(>([\d.]+)s\) from pytest-timeout\.?")


def _plain_timeout(failure: Failure) -> Failure:
    """pytest-timeout's message said as what it means for the code: it never finished."""

    def plain(text: str) -> str:
        return _TIMEOUT.sub(
            lambda m: (
                f"Timeout: still running after {float(m.group(1)):g} s; it was stopped on the line "
                "above (an endless loop?)"
            ),
            text,
        )

    return Failure(failure.test, plain(failure.message), [plain(d) for d in failure.details])


def _merge_junit(from_text: list[Failure], junit_xml: str | Path) -> list[Failure]:
    """Full test ids and messages from the JUnit report, short tracebacks from the text."""
    try:
        xml_text = Path(junit_xml).read_text() if isinstance(junit_xml, Path) else junit_xml
        from_xml = _parse_junit(xml_text)
    except (OSError, ET.ParseError):
        return from_text
    if not from_xml:
        return from_text
    by_title = {f.test: f for f in from_text}
    merged = []
    for failure in from_xml:
        title = ".".join(failure.test.split("::")[1:]) or failure.test
        text = by_title.get(title)
        details = text.details if text else failure.details
        merged.append(
            Failure(failure.test, failure.message or (text.message if text else ""), details)
        )
    return merged


def _render(tool: str, summary: str, failures: list[Failure], max_chars: int) -> Feedback:
    """Full blocks while they fit, then one line per failure, then a count of the rest."""
    budget = max_chars - 60  # room for the closing note
    lines = [f"{tool}: {summary}"]
    used = len(lines[0])
    left_out = 0
    for failure in failures:
        block = [f"FAILED {failure.test}"] + [f"  {ln}" for ln in failure.details]
        size = sum(len(b) + 1 for b in block)
        if used + size > budget:
            block = [f"FAILED {failure.test}: {failure.message}"[:200]]
            size = len(block[0]) + 1
            if used + size > budget:
                left_out += 1
                continue
        lines += block
        used += size
    if left_out:
        lines.append(f"... and {left_out} more failure{'s' if left_out > 1 else ''} not shown.")
    return Feedback(tool, summary, failures, "\n".join(lines)[:max_chars])


def _condense_diagnostics(
    tool: str, output: str, pattern: re.Pattern[str], max_chars: int
) -> Feedback:
    failures: list[Failure] = []
    summary = ""
    for line in output.splitlines():
        match = pattern.match(line.strip())
        if match:
            if match.groupdict().get("level") == "note":
                if failures and len(failures[-1].details) < 3:
                    failures[-1].details.append(line.strip())
                continue
            where = f"{match['path']}:{match['line']}"
            failures.append(Failure(test=where, message=match["rest"], details=[line.strip()]))
        elif re.match(r"^(Found \d+|Success|All checks passed|\d+ files? would be)", line.strip()):
            summary = line.strip()
    if not summary:
        summary = f"{len(failures)} problem{'s' if len(failures) != 1 else ''}"
    lines = [f"{tool}: {summary}"]
    shown = 0
    for failure in failures:
        block = "\n".join(failure.details)
        if sum(len(ln) + 1 for ln in lines) + len(block) > max_chars - 60:
            break
        lines.append(block)
        shown += 1
    if shown < len(failures):
        lines.append(f"... and {len(failures) - shown} more not shown.")
    return Feedback(tool, summary, failures, "\n".join(lines))


def ruff_feedback(output: str, *, max_chars: int = DEFAULT_MAX_CHARS) -> Feedback:
    """Condense ``ruff check --output-format=concise`` output: one line per problem."""
    return _condense_diagnostics("ruff", output, _RUFF, max_chars)


def mypy_feedback(output: str, *, max_chars: int = DEFAULT_MAX_CHARS) -> Feedback:
    """Condense mypy output: errors with their first notes, and the summary line."""
    return _condense_diagnostics("mypy", output, _MYPY, max_chars)
