"""Promotion is atomic and serving follows the registry, on real runs of one baked project: the champion alias decides
what `make serve` serves, `packaging.promote: false` leaves the old champion serving, a failed Bento build moves no
alias, and `cli promote` moves the champion by hand only to a version that passed every gate and was packaged.

Three flow runs: v1 (champion), v2 with `packaging.promote: false` (candidate), v3 whose Bento build fails.
"""

import json
import os
import signal
import subprocess
import sys

import pytest
import requests
import yaml

from .conftest import Server, bake, copy_trained, free_port, latest_run, mlflow_client, project_env, run

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # several trainings
MODULE = "credit_approval_model"


def home(project):
    return project.parent / "bentoml"


def flow(project, **packaging):
    config = []
    if packaging:
        params = yaml.safe_load((project / "params.yaml").read_text())
        params["packaging"].update(packaging)
        (project / "variant.yaml").write_text(yaml.safe_dump(params))
        config = ["--config", "config", "variant.yaml"]
    done = run([sys.executable, "flow.py", "--no-pylint", *config, "run"], project, BENTOML_HOME=str(home(project)))
    return done.returncode, done.stdout + done.stderr


def cli(project, *args):
    done = run(
        [sys.executable, "-m", f"{MODULE}.cli", *args], project, BENTOML_HOME=str(home(project)), PYTHONPATH="src"
    )
    return done.returncode, done.stdout + done.stderr


def aliases(project) -> dict[str, str]:
    client = mlflow_client(project)
    return {a: str(client.get_model_version_by_alias(MODULE, a).version) for a in ("champion", "candidate")}


@pytest.fixture(scope="module")
def project(tmp_path_factory, trained_project):
    """v1 promoted (the shared trained project, copied); v2 candidate only; v3's Bento build broken (bentofile.yaml
    names a service that does not exist). Before any run: a fresh bake."""
    fresh = bake(tmp_path_factory.mktemp("fresh"))
    state = {"serve before any run": cli(fresh, "serve", "--print-tag")}
    project, _, _ = copy_trained(trained_project, tmp_path_factory.mktemp("promotion"))
    state["after v1"] = aliases(project)
    code, output = flow(project, promote=False)
    assert code == 0, output
    state["after v2"] = aliases(project)
    bentofile = project / "bentofile.yaml"
    good = bentofile.read_text()
    bentofile.write_text(good.replace('service: "service:Classifier"', 'service: "service:NoSuchService"'))
    try:
        state["broken build"] = flow(project)
    finally:
        bentofile.write_text(good)
    state["after v3"] = aliases(project)
    return project, state


def test_no_champion_yet_says_how_to_get_one(project):
    code, output = project[1]["serve before any run"]
    assert code == 1 and "error: no champion yet: run `python flow.py run`" in output, output


def test_aliases_move_only_when_promoting(project):
    state = project[1]
    assert state["after v1"] == {"champion": "1", "candidate": "1"}
    assert state["after v2"] == {"champion": "1", "candidate": "2"}  # packaging.promote: false


def test_each_version_records_its_gates_and_the_bentoml_tags_serving_resolves_to(project):
    client = mlflow_client(project[0])
    for version in ("1", "2"):
        found = client.get_model_version(MODULE, version)
        run_tags = client.get_run(found.run_id).data.tags
        assert found.tags["gates"] == "passed"
        assert found.tags["bentoml.model"] == run_tags["bentoml.model"] and found.tags["bentoml.model"]
        assert found.tags["bentoml.bento"] == run_tags["bentoml.bento"] and found.tags["bentoml.bento"]
    assert (
        client.get_model_version(MODULE, "1").tags["bentoml.model"]
        != client.get_model_version(MODULE, "2").tags["bentoml.model"]
    )


def test_a_failed_bento_build_moves_no_alias_and_fails_the_run(project):
    project, state = project
    code, output = state["broken build"]
    assert code != 0 and "NoSuchService" in output, output
    assert state["after v3"] == {"champion": "1", "candidate": "2"}
    failed = latest_run(mlflow_client(project), MODULE)
    assert failed.info.status == "FAILED" and failed.data.tags["failed_step"] == "package"
    assert "bentoml.model" not in mlflow_client(project).get_model_version(MODULE, "3").tags


class MakeServe(Server):
    """`make serve MODEL=...` in its own process group (make → python → bentoml), stopped by that group's id."""

    def __init__(self, project, model: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = project / f"make-serve-{self.port}.log"
        cmd = ["make", "serve", f"PYTHON={sys.executable}", f"MODEL={model}", f"PORT={self.port}"]
        env = project_env(BENTOML_HOME=str(home(project)))
        self.proc = subprocess.Popen(
            cmd, cwd=project, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
        )

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def served_version(project, server) -> str:
    """The registry version a server answers with, for the project's examples/request.json."""
    try:
        server.wait_ready()
        example = json.loads((project / "examples" / "request.json").read_text())
        response = requests.post(f"{server.url}/predict", json=example, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["mlflow_model_version"]
    finally:
        server.stop()


def test_the_champion_serves_not_bentoml_latest_and_the_candidate_serves_on_request(project):
    project, _ = project
    code, tag = cli(project, "serve", "champion", "--print-tag")
    assert code == 0, tag
    assert served_version(project, Server(project, home(project), "--arg", f"model_tag={tag.strip()}")) == "1"
    assert served_version(project, MakeServe(project, "candidate")) == "2"  # v2 is BentoML's newest model too


def test_promote_moves_the_champion_only_to_a_version_that_passed_and_was_packaged(project):
    project, _ = project
    code, output = cli(project, "promote", "9")
    assert code == 1 and f"error: {MODULE} has no registry version 9" in output, output
    code, output = cli(project, "promote", "3")  # its Bento build failed
    assert code == 1 and "v3 may not become champion" in output and "no BentoML model recorded" in output, output
    client = mlflow_client(project)
    v1_files = client.get_model_version_download_uri(MODULE, "1")
    handmade = client.create_model_version(MODULE, v1_files, client.get_model_version(MODULE, "1").run_id)  # by hand
    code, output = cli(project, "promote", str(handmade.version))
    assert code == 1 and f"v{handmade.version} has no gate record" in output, output
    assert aliases(project) == {"champion": "1", "candidate": "2"}
    code, output = cli(project, "promote", "2")
    assert code == 0 and "champion: v1 -> v2; a running `make serve` keeps serving v1 until restarted" in output, output
    assert aliases(project) == {"champion": "2", "candidate": "2"}
    code, tag = cli(project, "serve", "--print-tag")
    assert code == 0 and tag.strip() == client.get_model_version(MODULE, "2").tags["bentoml.model"]
