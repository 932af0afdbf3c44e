"""Gates fail closed on real runs: biased data fails fairness, a worse challenger is blocked by the champion, skipping
a gate is explicit and logged, and the reports (Metaflow card, MLflow HTML/PNG, model card) are where people look."""

import base64
import json
import re
import sys
from pathlib import Path

import pytest
import requests
import yaml

from .conftest import Server, copy_trained, latest_run, mlflow_client, run

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # several trainings
MODULE = "credit_approval_model"
DATA = f"data/{MODULE}.csv"


def flow(project, *args, edit=None):
    config = []
    if edit:
        params = yaml.safe_load((project / "params.yaml").read_text())
        edit(params)
        (project / "variant.yaml").write_text(yaml.safe_dump(params))
        config = ["--config", "config", "variant.yaml"]
    done = run(
        [sys.executable, "flow.py", "--no-pylint", *config, "run", *args],
        project,
        BENTOML_HOME=str(project.parent / "bentoml"),
    )
    return done.returncode, done.stdout + done.stderr


def models(project) -> set:
    return {p.name for p in (project.parent / "bentoml" / "models" / MODULE).glob("*") if p.is_dir()}


@pytest.fixture(scope="module")
def project(tmp_path_factory, trained_project):
    """A baked project whose first (unbiased) run passed every gate and became champion v1 (the shared trained
    project, copied)."""
    project, _, output = copy_trained(trained_project, tmp_path_factory.mktemp("gates"))
    assert "fairness gate PASSED" in output and "no champion yet" in output
    return project


@pytest.fixture(scope="module")
def client(project):
    return mlflow_client(project)


def latest(client):
    return latest_run(client, MODULE)


def champion(client) -> str:
    return str(client.get_model_version_by_alias(MODULE, "champion").version)


def test_first_run_reports_and_ships_a_model_card(project, client):
    run_id = latest(client).info.run_id
    assert {"gates/report.html", "gates/fairness_0.png", "MODEL_CARD.md"} <= {
        a.path for d in ("", "gates") for a in client.list_artifacts(run_id, d or None)
    }
    card = client.download_artifacts(run_id, "MODEL_CARD.md")
    text = Path(card).read_text()
    assert "## Fairness by group" in text and "Gates PASSED" in text
    metrics = latest(client).data.metrics  # each judged metric with its bootstrap interval and the rows it rests on
    assert metrics["test_roc_auc_low"] < metrics["test_roc_auc"] < metrics["test_roc_auc_high"]
    assert metrics["test_rows"] == 1000 and re.search(r"- roc_auc: [\d.]+ \(interval [\d.]+ to [\d.]+\)", text)
    assert re.search(r"demographic parity difference \[sex\] = [\d.]+ \[[\d.]+, [\d.]+\] on 1000 rows <= 0.1", text)
    (model_dir,) = (project.parent / "bentoml" / "models" / MODULE).glob("*/")
    assert (model_dir / "MODEL_CARD.md").read_text() == text
    (bento_readme,) = (project.parent / "bentoml" / "bentos").glob("*/*/README.md")
    assert bento_readme.read_text().strip() == text.strip()  # the Bento's description is the model card
    metaflow_run = latest(client).data.tags["metaflow.run_id"]
    get_card = ["card", "get", f"{metaflow_run}/evaluate", "card.html"]
    got = run([sys.executable, "flow.py", "--no-pylint", *get_card], project)
    assert got.returncode == 0, got.stderr
    page = (project / "card.html").read_text()  # the card's content is embedded as base64 JSON
    content = base64.b64decode(re.search(r'__MF_DATA__\["[^"]+"\] = "([A-Za-z0-9+/=]+)"', page)[1]).decode()
    assert "Gates PASSED" in content and "Groups by sex" in content


def biased(project) -> str:
    """Demo data where one group's outcomes are penalised: labels and base rates differ by sex."""
    if not (project / "biased.csv").exists():
        made = run(
            [
                sys.executable,
                f"src/{MODULE}/pipeline/demo_data.py",
                "--rows",
                "5000",
                "--bias",
                "2.5",
                "--out",
                "biased.csv",
            ],
            project,
        )
        assert made.returncode == 0, made.stderr
    return "biased.csv"


def test_biased_data_fails_fairness_and_nothing_moves(project, client):
    before = models(project)
    biased(project)
    code, output = flow(project, "--allow-unpinned-data", "true", edit=lambda p: p["data"].update(path="biased.csv"))
    assert code != 0
    assert "fairness gate FAILED" in output and "gates FAILED, nothing packaged or promoted" in output
    difference = r"fairness: (demographic parity|equalized odds) difference \[sex\] = [\d.]+ \[[\d.]+, [\d.]+\] on"
    assert re.search(difference + r" \d+ rows, needs <=", output), output
    failed = latest(client)
    assert failed.info.status == "FAILED" and failed.data.tags["failed_step"] == "evaluate"
    assert failed.data.tags["gate.fairness"] == "failed"
    assert "gates/report.html" in {a.path for a in client.list_artifacts(failed.info.run_id, "gates")}
    assert models(project) == before and champion(client) == "1"


def test_worse_challenger_is_blocked_by_the_champion(project, client):
    def worse(params):
        params["training"].update(max_epochs=1, learning_rate=1e-6)  # barely trained
        params["gates"]["performance"] = {"min": {}, "max": {}}
        params["gates"]["fairness"] = {"max_demographic_parity_difference": None, "max_equalized_odds_difference": None}

    def grown(params):  # the champion's 5000 rows and 500 new ones: the same seeded split mixes them
        worse(params)
        params["data"]["path"] = "grown.csv"

    made = run([sys.executable, f"src/{MODULE}/pipeline/demo_data.py", "--rows", "5500", "--out", "grown.csv"], project)
    assert made.returncode == 0, made.stderr
    versions = len(client.search_model_versions(f"name = '{MODULE}'"))
    code, output = flow(project, "--allow-unpinned-data", "true", edit=grown)
    assert code != 0
    worse_by = r"champion: roc_auc difference vs champion v1 = -[\d.]+ \[-[\d.]+, -[\d.]+\] on \d+ rows, needs >= -0.01"
    assert re.search(worse_by + r" \(off by [\d.]+\)", output), output
    assert "judged against the champion, v1" in output  # read once, in start
    # both models scored only on test rows outside the champion's training and validation splits
    fresh, left_out = map(
        int, re.search(r"compared on (\d+) test rows neither model trained on \((\d+) left", output).groups()
    )
    assert left_out > 0 and fresh + left_out == 1100, output
    assert champion(client) == "1" and len(client.search_model_versions(f"name = '{MODULE}'")) == versions

    code, output = flow(project, "--skip-gates", "champion", edit=worse)
    assert code == 0, output
    assert "champion gate SKIPPED" in output
    assert latest(client).data.tags["gate.champion"] == "skipped"
    # packaged, but never champion: the rule `make promote` applies (release/promotion.py)
    version = re.search(r"registry version (\d+)", output)[1]
    assert f"v{version} is candidate only, never champion: gates passed; skipped: champion" in output
    assert str(client.get_model_version_by_alias(MODULE, "candidate").version) == version and champion(client) == "1"


def test_mitigation_is_rechecked_by_the_same_gate_and_served_with_the_groups(project, client):
    """fairlearn's ThresholdOptimizer (equalized odds) on the biased data: the gate that the network alone fails is
    re-run on the mitigated decisions and passes; the service then needs, and validates, each record's group."""

    def mitigated(params):
        params["data"]["path"] = biased(project)
        params["mitigation"].update(method="threshold_optimizer", constraints="equalized_odds")
        params["gates"]["fairness"]["max_demographic_parity_difference"] = None  # base rates differ by group
        params["gates"]["champion"]["enabled"] = False  # other data: not comparable with the champion
        params["gates"]["decide_on"] = "point"  # ROC AUC 0.82 [0.79, 0.84] on the biased data: undecided against 0.8

    code, output = flow(project, "--allow-unpinned-data", "true", edit=mitigated)
    assert code == 0, output
    assert "fairness gate PASSED" in output and "before mitigation: accuracy " in output
    assert "cross-fitting the fairness thresholds: network 5/5" in output  # mitigation.fit_on: cross_fit (default)
    evidence = r" \[[\d.]+, [\d.]+\] on \d+ rows"
    before = re.search(
        r"before mitigation: equalized odds difference \[sex\] = ([\d.]+)" + evidence + ", needs", output
    )
    after = re.search(r"\[ok\] equalized odds difference \[sex\] = ([\d.]+)" + evidence + " <= 0.15", output)
    assert before and after and float(after[1]) < 0.15 < float(before[1]), output
    record = latest(client)
    assert record.data.tags["gate.fairness"] == "passed"
    assert record.data.params["mitigation.method"] == "threshold_optimizer"
    assert "is candidate only, never champion: trained on data DVC does not pin" in output
    assert champion(client) == "1"  # later runs could not be judged against a model on unpinned data

    example = json.loads((project / "examples" / "request.json").read_text())
    server = Server(project, project.parent / "bentoml")  # serves the latest model: the mitigated one
    try:
        server.wait_ready()
        missing = requests.post(f"{server.url}/predict", json=example, timeout=30)
        assert missing.status_code == 400 and "sex" in missing.text
        records = [r | {"sex": sex} for r, sex in zip(example["records"], ["female", "male"], strict=False)]
        answered = requests.post(f"{server.url}/predict", json={"records": records}, timeout=30)
        assert answered.status_code == 200, answered.text
        assert [p["label"] in (0, 1) for p in answered.json()["predictions"]] == [True] * len(records)
        unknown = requests.post(f"{server.url}/predict", json={"records": [records[0] | {"sex": "x"}]}, timeout=30)
        assert unknown.status_code == 400 and "sex" in unknown.text
    finally:
        server.stop()


def test_fairness_with_nothing_judgeable_fails_instead_of_passing(project, client):
    """Every group too small to judge: the gate used to print PASSED with zero checks. Now each check is shown as
    not judged, and the gate fails (require_judgement) naming why."""

    def tiny_groups(params):
        params["training"]["max_epochs"] = 1
        params["gates"]["performance"] = {"min": {}, "max": {}}
        params["gates"]["champion"]["enabled"] = False
        params["gates"]["fairness"]["min_group_size"] = 5000  # more rows than the test split has

    code, output = flow(project, "--publish", "false", edit=tiny_groups)
    assert code != 0
    assert "fairness gate FAILED (0 judged, 3 not judged)" in output
    assert "demographic parity difference [sex]: not judged (fewer than 2 groups with >= 5000 rows" in output
    assert "fairness: none of its 3 checks could be judged (require_judgement)" in output
    failed = latest(client)
    assert failed.data.tags["gate.fairness"] == "failed"
    assert "not judged" in failed.data.tags["gate.fairness.not_judged.equalized odds difference _sex_"]


def test_no_sensitive_feature_trains_with_fairness_off_and_says_so(project, client):
    """Data with no sensitive column: allowed only with fairness explicitly off; the verdict and the model card say
    fairness was not assessed. Not promoted, so the champion stays where it was."""

    def no_groups(params):
        params["training"]["max_epochs"] = 1
        params["data"]["sensitive_features"] = []
        params["gates"]["performance"] = {"min": {}, "max": {}}
        params["gates"]["champion"]["enabled"] = False
        params["gates"]["fairness"]["enabled"] = False
        params["packaging"].update(promote=False, build_bento=False)

    before = champion(client)
    code, output = flow(project, edit=no_groups)
    assert code == 0, output
    assert "fairness gate OFF" in output and "not assessed: gates.fairness.enabled is false" in output
    record = latest(client)
    assert record.data.tags["gate.fairness"] == "off"
    card = Path(client.download_artifacts(record.info.run_id, "MODEL_CARD.md")).read_text()
    assert "Fairness was not assessed" in card
    assert champion(client) == before  # promote: false


def test_a_champion_on_a_data_version_no_commit_pins_yet_is_still_judged_against(project, client):
    """`make retrain` pins a new data version with `dvc add` and leaves the pointer for you to commit, so the champion
    it makes trained on data its commit does not pin. The next run, on newer data again, still reads the champion's
    rows back (by md5, from the DVC cache) and judges it, rather than failing with the champion "not judged"."""

    def new_version(rows):
        made = run([sys.executable, f"src/{MODULE}/pipeline/demo_data.py", "--rows", str(rows), "--out", DATA], project)
        pinned = run([sys.executable, "-m", "dvc", "add", "-q", DATA], project)
        assert made.returncode == 0 and pinned.returncode == 0, made.stderr + pinned.stderr

    def champion_off(params):  # this run only has to become champion
        params["gates"]["champion"]["enabled"] = False

    try:
        new_version(5300)
        code, output = flow(project, edit=champion_off)
        assert code == 0, output
        made = re.search(r"registry version (\d+)", output)[1]
        assert champion(client) == made  # pinned data, every configured gate passed
        new_version(5600)
        code, output = flow(project)
        assert f"judged against the champion, v{made}" in output
        assert re.search(r"compared on \d+ test rows neither model trained on", output), output
        assert "LineageError" not in output and "Lineage incomplete" not in output, output
    finally:
        run(["git", "checkout", "-q", "--", f"{DATA}.dvc"], project)
        run([sys.executable, "-m", "dvc", "checkout", "-q", "--force", f"{DATA}.dvc"], project)
