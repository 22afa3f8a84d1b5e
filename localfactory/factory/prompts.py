"""The words the factory says to its models, kept next to the stages that use them.

Small models do best with short, concrete instructions, one job per prompt, and a fixed
edit format: the file path on its own line, then the whole file in a fenced block. Nothing
here may mention holdout scenarios: generating roles never see them.
"""

from __future__ import annotations

SYSTEM = (
    "You are a careful senior Python engineer. You write small, correct, readable code that uses "
    "only the Python standard library unless told otherwise. You follow the requested output format exactly."
)

FILE_FORMAT = """Reply with the path `{path}` on a line of its own, then the complete file in one
```python fenced block. Real Python code only: no placeholders, no explanations."""

PLAN = """Here is a specification of software to build.

{spec}

Plan the work before anyone writes code. For each function of the interface, write one bullet:
`name`: how it meets the acceptance criteria, including the edge cases. At most {limit} bullets,
one or two sentences each. No code."""

TESTS = (
    """Here is a specification of software to build.

{spec}

Plan:
{plan}

Write the pytest tests for it in `{test_path}`. Rules:
- One test function per acceptance criterion at least; name each test after what it checks.
- Every test asserts concrete expected values taken from the acceptance criteria; never `assert True`.
- Use `pytest.raises` for the errors the criteria require.
{harness}
- Do not implement the software; the tests import it.

"""
    + FILE_FORMAT
)

TESTS_LIBRARY_HARNESS = "- Import the functions with `from {module} import {names}`."
TESTS_CLI_HARNESS = (
    "- Call the command through `from {module} import main` as `main([...args])`: it returns the exit code,\n"
    "  and output is checked with pytest's `capsys` fixture. Use `tmp_path` for input files.\n"
    "- Pytest gives no standard input: always pass an input file, or set it with\n"
    "  `monkeypatch.setattr('sys.stdin', io.StringIO(text))` before calling `main`."
)
TESTS_SERVICE_HARNESS = (
    "- Start the service with `subprocess.Popen([sys.executable, '-m', '{module}', '--port', str(port)])`\n"
    "  in a fixture, on a free port found with `socket`, wait until it accepts connections, and stop it after\n"
    "  the test. Send requests with `urllib.request` to `http://127.0.0.1:<port>`."
)

IMPLEMENT = (
    """Here is a specification of software to build.

{spec}

Plan:
{plan}

These tests must pass (`{test_path}`):
```python
{tests}
```

The module `{path}` has only stubs so far:
```python
{stub}
```

Write the complete file `{path}`: every function with exactly the signature above, implemented
so that the acceptance criteria and the tests hold.

"""
    + FILE_FORMAT
)

REPAIR = (
    """Here is a specification of software to build.

{spec}

The tests (`{test_path}`, do not change them):
```python
{tests}
```

The current implementation (`{path}`):
```python
{code}
```

The checks failed:
{feedback}

Fix the implementation so that every check passes. Think about what the failing check expects
and why the code does something else, then write the corrected file.

"""
    + FILE_FORMAT
)

REWRITE = (
    """Here is a specification of software to build.

{spec}

The module `{path}` has only stubs so far:
```python
{stub}
```

Write the complete file `{path}` from the specification alone: every function with exactly the
signature above, implemented so that every acceptance criterion holds, edge cases included.

"""
    + FILE_FORMAT
)

TESTS_ARE_RIGHT = "TESTS ARE RIGHT"

REVISE_TESTS = (
    """Here is a specification of software to build.

{spec}

The tests (`{test_path}`):
```python
{tests}
```

The implementation (`{code_path}`):
```python
{code}
```

The implementation was repaired, but these tests still fail the same way: {failing}
{feedback}

Check each failing test against the specification, and only against it. If a test expects
something the specification does not say (a wrong expected value, an error the specification
does not ask for), write the test file again with only those assertions corrected, keeping every
other test as it is. If every failing test agrees with the specification, answer exactly:
"""
    + TESTS_ARE_RIGHT
    + """

"""
    + FILE_FORMAT
)

EXTEND_TESTS = (
    """Here is a specification of software to build.

{spec}

The tests so far (`{test_path}`); the current code passes all of them:
```python
{tests}
```

Yet users who tried the software found that it still does something wrong:
{feedback}

So the tests miss a behaviour the specification asks for. Go through the acceptance criteria one
by one. For each requirement or edge case that no test above checks yet (for example other kinds
of characters, empty input, negative or very large numbers, the errors required), write a new
test function that asserts the exact result the specification gives. Write only the new tests,
with the imports they need; do not repeat the tests above.

"""
    + FILE_FORMAT
)

STRENGTHEN_TESTS = (
    """Here is a specification of software to build.

{spec}

The tests (`{test_path}`):
```python
{tests}
```

A review found tests that check nothing, so they would pass whatever the code does:
{findings}

Write the test file again. In each of those tests, call the function and check its result with
`assert` against the value the specification gives (or `pytest.raises` for an error it requires).
Keep every other test exactly as it is, and do not remove any test.

"""
    + FILE_FORMAT
)
