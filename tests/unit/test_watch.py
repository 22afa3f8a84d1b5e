"""Watch mode: what counts as a change (pure), and a real watchdog Observer on a real folder.

The factory runs for real (sandbox, git, pytest, ruff, SQLite); only the models are scripted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from localfactory.factory.builds import Builder, BuildEvent
from localfactory.factory.engine import Factory
from localfactory.factory.watch import Debouncer, Digests, SpecWatch, Targets, touched_paths
from localfactory.store import RunStore
from tests.factory_helpers import PLAN, RIGHT, TESTS, ScriptedModels, make_project, settings_for

WAIT_S = 60.0
"""Generous: a build on a busy machine; tests wait on conditions, never on durations."""


# -- pure: which events touch a spec, when a burst is over, whether content is new ----------


def test_an_editor_save_touches_the_spec_itself_not_its_temporary_file() -> None:
    spec = "/p/specs/adder.md"
    assert touched_paths("created", "/p/specs/.adder.md.swp") == [Path("/p/specs/.adder.md.swp")]
    assert touched_paths("moved", "/p/specs/.adder.md.tmp", spec) == [Path(spec)]
    assert touched_paths("modified", spec) == [Path(spec)]
    assert touched_paths("closed", spec) == [Path(spec)]
    assert touched_paths("deleted", spec) == []
    assert touched_paths("opened", spec) == []


def test_targets_cover_watched_files_and_the_specs_of_watched_folders() -> None:
    targets = Targets()
    targets.files.add(Path("/p/adder.md"))
    targets.folders.add(Path("/p/specs"))
    assert targets.covers(Path("/p/adder.md"))
    assert targets.covers(Path("/p/specs/new-spec.md"))
    assert not targets.covers(Path("/p/specs/.new-spec.md.tmp"))
    assert not targets.covers(Path("/p/other.md"))
    assert not targets.covers(Path("/p/specs/deeper/x.md"))
    assert targets.directories() == {Path("/p"), Path("/p/specs")}


def test_a_burst_of_events_becomes_one_change_once_the_file_is_quiet() -> None:
    d: Debouncer[str] = Debouncer(quiet_s=0.5)
    assert d.wait_s(0.0) is None
    d.touch("spec", 10.0)  # truncate
    d.touch("spec", 10.1)  # write
    d.touch("spec", 10.3)  # close
    assert d.due(10.7) == []  # 0.4 s after the last event: the editor may not be done
    assert d.wait_s(10.7) == pytest.approx(0.1)
    assert d.due(10.8) == ["spec"]
    assert d.due(20.0) == []  # forgotten once due, until touched again
    assert d.wait_s(20.0) is None


def test_quiet_specs_are_due_independently_oldest_first() -> None:
    d: Debouncer[str] = Debouncer(quiet_s=0.5)
    d.touch("b", 1.0)
    d.touch("a", 1.2)
    d.touch("c", 1.4)
    assert d.due(1.75) == ["b", "a"]
    d.touch("c", 1.8)  # still being written
    assert d.due(2.0) == []
    assert d.due(2.4) == ["c"]


def test_only_new_content_is_a_change() -> None:
    seen = Digests()
    spec = Path("/p/adder.md")
    assert seen.changed(spec, b"first")
    assert not seen.changed(spec, b"first")  # saved again without an edit
    assert not seen.changed(spec, None)  # gone for a moment (a save by rename)
    assert seen.changed(spec, b"second")
    assert seen.changed(spec, b"first")  # an edit undone is a change too
    assert seen.changed(Path("/p/other.md"), b"first")  # per file


@pytest.mark.parametrize("module", ["localfactory.factory.watch", "localfactory.factory.builds"])
def test_watch_mode_is_headless(module: str) -> None:
    code = f"import sys, {module}; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- a real Observer on a real folder ---------------------------------------------------------

MALFORMED = "---\nname: adder\nkind: library\ninterface: [\n---\n# Adder\n"


class Heard:
    """What the builder and the watch said, and a way to wait for something to be said."""

    def __init__(self) -> None:
        self.events: list[BuildEvent] = []
        self.said: list[str] = []
        self.warned: list[str] = []
        self._cond = threading.Condition()

    def event(self, event: BuildEvent) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def say(self, text: str) -> None:
        with self._cond:
            self.said.append(text)
            self._cond.notify_all()

    def warn(self, text: str) -> None:
        with self._cond:
            self.warned.append(text)
            self._cond.notify_all()

    def wait(self, what: str, condition: Callable[[], bool]) -> None:
        with self._cond:
            if not self._cond.wait_for(condition, timeout=WAIT_S):
                raise AssertionError(f"never happened: {what}; heard {self.events} {self.said}")

    def ended(self) -> list[BuildEvent]:
        return [e for e in self.events if e.kind == "ended"]


def save_by_rename(path: Path, text: str) -> None:
    """How many editors save: write a temporary file beside it, then rename it over."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def save_in_place(path: Path, text: str) -> None:
    """How others save: truncate, then write (two events, and a moment with an empty file)."""
    with path.open("w") as f:
        f.flush()
        os.fsync(f.fileno())
        f.write(text)


def test_a_save_builds_once_and_a_malformed_save_says_why_and_builds_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # where a person runs `localfactory watch specs`
    make_project(tmp_path, scenario=None)
    folder = tmp_path / "specs"
    folder.mkdir()
    spec = folder / "adder.md"
    os.replace(tmp_path / "adder.md", spec)
    store = RunStore(settings_for(tmp_path).store_path())
    models = ScriptedModels({"planner": [PLAN], "test_writer": [TESTS], "coder": [RIGHT]})
    factory = Factory(settings_for(tmp_path), store, chat=models.chat, emit=lambda _line: None)
    heard = Heard()
    builder = Builder(factory, heard.event)
    watch = SpecWatch(builder, heard.say, warn=heard.warn, quiet_s=0.2)
    try:
        assert watch.add(folder) == [spec]
        heard.wait("the first build", lambda: len(heard.ended()) == 1)

        save_by_rename(spec, spec.read_text().replace("Adds two integers.", "Adds two ints."))
        heard.wait("the rebuild", lambda: len(heard.ended()) == 2)
        first, second = (e.run_id for e in heard.ended())
        assert "specs/adder.md changed: building adder again" in heard.said[-1]
        assert any(e.kind == "started" and e.run_id == second and "report.html" in e.message
                   for e in heard.events)  # fmt: skip

        # A save without an edit, then a new malformed spec in the folder: by the time the
        # malformed one is reported, the unchanged save (earlier, same quiet period) was judged.
        save_in_place(spec, spec.read_text())
        save_in_place(folder / "broken.md", MALFORMED)
        heard.wait("the malformed new spec", lambda: any("broken.md" in w for w in heard.warned))
        save_in_place(spec, MALFORMED)
        heard.wait("the malformed save", lambda: any("adder.md:4" in w for w in heard.warned))
    finally:
        watch.close()
        builder.close()

    warning = next(w for w in heard.warned if "adder.md:4" in w)
    assert "still watching specs/adder.md" in warning and "Traceback" not in warning
    assert [r.id for r in store.list_runs()] == [second, first]  # exactly one rebuild, no third
    assert all(r.status.value == "succeeded" for r in store.list_runs())
    assert builder.waiting == []


def test_a_missing_target_is_refused_before_anything_is_watched(tmp_path: Path) -> None:
    store = RunStore(settings_for(tmp_path).store_path())
    factory = Factory(settings_for(tmp_path), store, emit=lambda _line: None)
    heard = Heard()
    builder = Builder(factory, heard.event)
    watch = SpecWatch(builder, heard.say)
    try:
        (tmp_path / "real.md").write_text(MALFORMED)
        with pytest.raises(Exception, match=r"no spec file or folder .*missing\.md"):
            watch.add(tmp_path / "real.md", tmp_path / "missing.md")
        assert watch.watching == []
    finally:
        watch.close()
        builder.close()
    assert heard.events == [] and store.list_runs() == []


# -- the command ---------------------------------------------------------------------------------


def test_the_command_refuses_a_missing_spec_in_one_sentence(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "localfactory", "watch", "nothing.md"],
                         cwd=tmp_path, capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 2
    assert "There is no spec file or folder nothing.md." in out.stderr
    assert "Traceback" not in out.stderr


def test_ctrl_c_ends_watching_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "localfactory.toml").write_text("")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "adder.md").write_text(MALFORMED)
    proc = subprocess.Popen(
        [sys.executable, "-m", "localfactory", "watch", "specs"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as in a terminal
    )  # fmt: skip
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "Ctrl-C stops" in line:
            proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=WAIT_S) == 0
    said = "".join(lines)
    assert "specs/adder.md:4: The front matter is not valid YAML" in said
    assert "still watching specs/adder.md" in said
    assert said.rstrip().endswith("stopped watching") and "Traceback" not in said
