"""Finding the local stack's PostgreSQL: initdb on PATH first, else the newest complete versioned install; without one,
`make up` stops with one line that says what to install, before it starts or writes anything."""

import pytest

from {{ cookiecutter.module_name }}.scale import local_postgres, stack
from {{ cookiecutter.module_name }}.scale.local_postgres import PROGRAMS, find_bindir


def _install(root, version: str, programs=PROGRAMS):
    bindir = root / version / "bin"
    bindir.mkdir(parents=True)
    for program in programs:
        (bindir / program).write_text("#!/bin/sh\n")
        (bindir / program).chmod(0o755)
    return bindir


def test_the_newest_complete_install_is_found(tmp_path):
    _install(tmp_path, "9")
    newest = _install(tmp_path, "15")  # 15 > 9: compared as numbers
    _install(tmp_path, "16", programs=("initdb", "pg_isready"))  # no server: skipped
    assert find_bindir(search_path="", install_dirs=(f"{tmp_path}/*/bin",)) == newest


def test_initdb_on_path_comes_first(tmp_path):
    on_path = _install(tmp_path / "path", "14")
    _install(tmp_path, "15")
    assert find_bindir(search_path=str(on_path), install_dirs=(f"{tmp_path}/*/bin",)) == on_path


def test_without_postgresql_up_stops_with_one_line_and_starts_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(local_postgres, "INSTALL_DIRS", ())
    state = tmp_path / ".stack"
    monkeypatch.setattr(stack, "STATE", state)
    monkeypatch.setattr(stack, "PIDS", state / "pids.json")
    with pytest.raises(SystemExit) as stopped:
        stack.main(["up"])
    message = stopped.value.code  # printed alone, exit status 1
    assert message.startswith("error: `make up` needs PostgreSQL's server programs") and "\n" not in message
    assert "apt-get install postgresql" in message
    assert not state.exists()


def test_every_up_starts_from_an_empty_store(tmp_path):
    """moto keeps S3 in memory: an earlier `up`'s runs would point at artifacts that are gone, so init clears them."""
    (tmp_path / "postgres").mkdir()
    (tmp_path / "postgres" / "PG_VERSION").write_text("15\n")
    (tmp_path / "postgres.password").write_text("old")
    (tmp_path / "cloud.env").write_text("kept")
    local_postgres.clear(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cloud.env"]
    local_postgres.clear(tmp_path)  # nothing there: no error
