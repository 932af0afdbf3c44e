import json

import pytest

from {{ cookiecutter.module_name }}.cli import main

from .conftest import EXAMPLE


def test_example_command_writes_a_request_with_the_shipped_fields(tmp_path, capsys):
    out = tmp_path / "request.json"
    assert main(["example", "--rows", "5", "--out", str(out)]) == 0
    written = json.loads(out.read_text())["records"]
    assert len(written) == 5 and all(list(record) == list(EXAMPLE[0]) for record in written)
    assert str(out) in capsys.readouterr().out


def test_example_command_refuses_a_non_positive_row_count(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["example", "--rows", "0", "--out", str(tmp_path / "request.json")])
    assert stopped.value.code == 2 and "--rows must be positive" in capsys.readouterr().err
    assert not (tmp_path / "request.json").exists()


def test_card_command_says_when_no_run_reached_the_gate():
    from {{ cookiecutter.module_name }}.cli import latest_gate_task

    with pytest.raises(LookupError, match="no NoSuchFlow run has judged its gates yet: run `python flow.py run`"):
        latest_gate_task("NoSuchFlow")


def test_serve_says_in_one_line_when_the_port_is_taken(capsys):
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    said = capsys.readouterr()
    assert said.err.startswith(f"error: port {port} on 127.0.0.1 is taken (") and said.err.count("\n") == 1
    assert said.err.endswith("stop what holds it, or serve on another (make serve PORT=...)\n")
    assert "serving" not in said.out
