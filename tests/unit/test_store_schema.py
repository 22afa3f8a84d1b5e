"""Opening the run store: creation, migrations, and refusing files it must not touch."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from localfactory.config import Settings
from localfactory.errors import UserError
from localfactory.store import (
    SCHEMA_VERSION,
    NotARunStore,
    RunStore,
    StoreTooNew,
    open_store,
    schema,
)

TABLES = {"runs", "transitions", "steps", "model_calls", "blobs", "artifacts", "log_lines"}


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'").fetchall()
    return {r[0] for r in rows} - {"sqlite_sequence"}


def _pragma(path: Path, name: str) -> object:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


def test_a_new_store_gets_every_table_in_wal_mode_with_its_folders(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "runs.db"
    with RunStore(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        conn = store._connection()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    assert path.is_file()
    assert _tables(path) == TABLES
    assert _pragma(path, "user_version") == SCHEMA_VERSION
    assert _pragma(path, "application_id") == schema.APPLICATION_ID


def test_open_store_uses_the_settings_path_relative_to_the_project(tmp_path: Path) -> None:
    settings = Settings(project_dir=tmp_path)
    with open_store(settings) as store:
        assert store.path == tmp_path / ".localfactory" / "runs.db"
    assert (tmp_path / ".localfactory" / "runs.db").is_file()


def test_reopening_keeps_the_data_and_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    with RunStore(path) as store:
        run = store.create_run(spec_name="todo", spec_path="todo.md", spec_sha256="a" * 64)
    for _ in range(2):
        with RunStore(path) as store:
            assert store.schema_version() == SCHEMA_VERSION
            assert [r.id for r in store.list_runs()] == [run.id]


def test_migrations_run_in_order_each_in_one_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = schema.Migration(
        SCHEMA_VERSION + 1,
        "adds a table, then fails",
        ("CREATE TABLE extra (x INTEGER)", "NOT SQL"),
    )
    path = tmp_path / "runs.db"
    RunStore(path).close()
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, broken))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(sqlite3.OperationalError):
        RunStore(path)
    # The failed migration left nothing behind: no table, version unchanged.
    assert "extra" not in _tables(path)
    assert _pragma(path, "user_version") == SCHEMA_VERSION

    fixed = schema.Migration(
        SCHEMA_VERSION + 1, "adds a table", ("CREATE TABLE extra (x INTEGER)",)
    )
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS[:-1], fixed))
    with RunStore(path) as store:
        assert store.schema_version() == SCHEMA_VERSION + 1
    assert "extra" in _tables(path)


def test_a_store_from_a_newer_localfactory_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    RunStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 3}")
    with pytest.raises(StoreTooNew) as caught:
        RunStore(path)
    assert isinstance(caught.value, UserError)
    assert "newer localfactory" in caught.value.message
    assert str(SCHEMA_VERSION + 3) in caught.value.message
    assert caught.value.hint and "Upgrade" in caught.value.hint


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    text = "# my notes\n" * 200
    path.write_text(text)
    with pytest.raises(NotARunStore) as caught:
        RunStore(path)
    assert "not a SQLite database" in str(caught.value)
    assert caught.value.hint
    assert path.read_text() == text


def test_another_programs_sqlite_database_is_refused_and_not_converted(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE contacts (name TEXT)")
    with pytest.raises(NotARunStore, match="another program"):
        RunStore(path)
    assert _pragma(path, "journal_mode") == "delete"  # not switched to WAL
    assert _tables(path) == {"contacts"}


def test_a_folder_in_place_of_the_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "runs.db").mkdir()
    with pytest.raises(UserError, match="Cannot open the run store"):
        RunStore(tmp_path / "runs.db")
