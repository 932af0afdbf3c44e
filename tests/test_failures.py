"""Every expected failure of `python flow.py run` ends with a non-zero exit and a short message that names the problem
and the fix, with no traceback; the generated README's failure examples are real output. One baked project, its data
pinned once; only the gate case trains (two epochs)."""

import re
import subprocess
import sys

import pytest
import yaml

from .conftest import bake, decide_on_point, latest_run, mlflow_client, pin_demo_data, run

pytestmark = pytest.mark.e2e
MODULE = "credit_approval_model"
DATA = f"data/{MODULE}.csv"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return pin_demo_data(decide_on_point(bake(tmp_path_factory.mktemp("failures"))), 2000)


def variant(project, name: str, **edits) -> list[str]:
    """params.yaml with `edits` ("section.key": value) written to `name`; the options that make the flow read it."""
    params = yaml.safe_load((project / "params.yaml").read_text())
    for dotted, value in edits.items():
        *parents, key = dotted.split(".")
        section = params
        for parent in parents:
            section = section[parent]
        section[key] = value
    (project / name).write_text(yaml.safe_dump(params))
    return ["--config", "config", name]


def flow(project, *args) -> str:
    """Run the flow, which must fail as a user would see it: non-zero exit, no traceback, no internal error."""
    done = run([sys.executable, "flow.py", "--no-pylint", *args], project, BENTOML_HOME=str(project.parent / "bentoml"))
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "Traceback" not in output and "Internal error" not in output, output
    return output


def before_training(output: str) -> bool:
    return "/train/" not in output


def readme_block(project, name: str) -> list[str]:
    """The lines of the README's fenced block marked `<!-- failure: name -->`."""
    found = re.search(rf"<!-- failure: {name} -->\n```\n(.*?)```", (project / "README.md").read_text(), re.S)
    assert found, name
    return [line.strip() for line in found[1].splitlines() if line.strip()]


def shown_in(lines: list[str], output: str) -> None:
    """Each README line appears in the real output, numbers and hashes aside."""
    for line in lines:
        parts = re.split(r"([0-9a-f]{32}|\d+(?:\.\d+)?)", line)
        pattern = "".join(re.escape(p) if i % 2 == 0 else r"[0-9a-f.]+" for i, p in enumerate(parts))
        assert re.search(pattern, output), f"README line not in the output: {line}\n{output}"


def test_too_few_test_rows_judge_nothing_and_fail(project):
    """Every metric of a real table was 1.0 on 9 test rows, and the model became champion: on fewer than
    `performance.min_rows` test rows the performance gate judges nothing now, and the run fails."""
    options = variant(project, "few.yaml", **{"training.max_epochs": 2, "split.test_size": 0.02})
    output = flow(project, *options, "run")
    assert "performance: roc_auc: not judged (40 rows < min_rows 100; needs >= 0.8)" in output, output


@pytest.fixture(scope="module")
def gate_failure(project):
    """A run that trains (two epochs) and fails the performance gate."""
    options = variant(project, "gate.yaml", **{"training.max_epochs": 2, "gates.performance.min.roc_auc": 0.9999})
    return flow(project, *options, "run")


def test_failed_gate(project, gate_failure):
    assert "Stopped:" in gate_failure and "gates FAILED, nothing packaged or promoted:" in gate_failure
    assert re.search(r"performance: roc_auc = [\d.]+ \[[\d.]+, [\d.]+\] on 400 rows, needs >= 0.9999", gate_failure)
    record = latest_run(mlflow_client(project), MODULE)
    assert record.info.status == "FAILED" and record.data.tags["failed_step"] == "evaluate"
    assert record.data.tags["error"].startswith("GateFailed: gates FAILED")
    shown_in(readme_block(project, "gate"), gate_failure)


def test_config_error_names_the_file_and_the_value(project):
    output = flow(project, *variant(project, "other.yaml", **{"training.max_epochs": 0}), "run")
    assert "invalid other.yaml:" in output and "params.yaml" not in output
    assert "training.max_epochs: Input should be greater than 0 (got 0)" in output
    shown_in(readme_block(project, "config"), output)
    output = flow(project, *variant(project, "long.yaml", **{"data.path": ["x" * 500]}), "run")
    assert re.search(r"data.path: Input should be a valid string \(got \['x{50,60}\.\.\.\)", output), output


def test_data_path_that_names_nothing(project):
    output = flow(project, *variant(project, "nopath.yaml", **{"data.path": "data/nope.csv"}), "run")
    assert "Data problem:" in output and "data file data/nope.csv not found (check data.path in nopath.yaml)" in output
    assert "dvc add" not in output and before_training(output)
    record = latest_run(mlflow_client(project), MODULE)
    assert record.info.status == "FAILED" and record.data.tags["failed_step"] == "start"
    assert record.data.tags["error"] == "DataError: data file data/nope.csv not found (check data.path in nopath.yaml)"


def test_column_not_in_the_data(project):
    output = flow(project, *variant(project, "column.yaml", **{"data.sensitive_features": ["gender"]}), "run")
    assert "columns named in column.yaml are not in the data: ['gender']; the data has ['age'," in output
    assert before_training(output)


def test_target_with_one_class(project):
    table = (project / DATA).read_text().splitlines()
    header = table[0].split(",")
    target = header.index("approved")
    rows = [",".join("1" if i == target else v for i, v in enumerate(r.split(","))) for r in table[1:]]
    (project / "one_class.csv").write_text("\n".join([table[0], *rows]) + "\n")
    options = variant(project, "one_class.yaml", **{"data.path": "one_class.csv"})
    output = flow(project, *options, "run", "--allow-unpinned-data", "true")
    assert "data does not match one_class.yaml:" in output
    assert "target 'approved' has 1 class(es) [1]; at least 2 are needed" in output and before_training(output)


def derived_table(project, name: str, rows: int | None = None, **columns) -> str:
    """The pinned demo table (its first `rows`), with `columns` replaced (name -> function of the row number), written
    beside it as `name`."""
    import pandas as pd

    table = pd.read_csv(project / DATA).head(rows)
    for column, values in columns.items():
        table[column] = [values(i) for i in range(len(table))]
    table.to_csv(project / name, index=False)
    return name


def test_split_too_small_for_the_classes(project):
    """Issue 25: `split.test_size: 0.01` on a 3-class table of 178 rows was a sklearn ValueError traceback."""
    path = derived_table(project, "three.csv", 178, approved=lambda i: i % 3)
    options = variant(project, "small.yaml", **{"data.path": path, "split.test_size": 0.01})
    output = flow(project, *options, "run", "--allow-unpinned-data", "true")
    assert "Data problem:" in output and before_training(output)
    assert (
        "split.test_size: 0.01 in small.yaml leaves the test split 2 of 178 rows, fewer than the 3 classes of "
        "'approved' (each split must hold every class): raise it"
    ) in output


def typos_table(project) -> str:
    return derived_table(project, "typos.csv", age=lambda i: "unknown" if i % 80 == 0 else str(20 + i % 50))


def test_numbers_with_a_few_words_are_refused(project):
    """Issue 25: 25 "unknown" in a numeric `age` made it a category silently. Refused with the count and examples
    (test_numbers_with_a_few_words_read_as_missing_when_configured: the way out)."""
    options = variant(project, "typos.yaml", **{"data.path": typos_table(project)})
    output = flow(project, *options, "run", "--allow-unpinned-data", "true")
    assert "Data problem:" in output and before_training(output)
    assert "column 'age' holds numbers, but 25 of its 2000 values are not: ['unknown']: fix them upstream" in output


def test_a_directory_as_the_data_path(project):
    output = flow(project, *variant(project, "dir.yaml", **{"data.path": "data"}), "run")
    assert "Data problem:" in output and "data.path in dir.yaml is the directory data: name a CSV or Parquet" in output
    assert "not found" not in output and before_training(output)


def test_unknown_gate_name(project):
    output = flow(project, "run", "--skip-gates", "fairnes")
    assert "Bad option:" in output and before_training(output)
    assert "--skip-gates: unknown gate(s) ['fairnes']; gates are ['performance', 'fairness', 'champion']" in output
    record = latest_run(mlflow_client(project), MODULE)  # findable in MLflow like every other expected failure
    assert record.info.status == "FAILED" and record.data.tags["failed_step"] == "start"
    assert "unknown gate(s) ['fairnes']" in record.data.tags["error"]


def test_data_that_does_not_match_its_pointer_and_the_suggested_fix(project):
    with (project / DATA).open("a") as data:
        data.write((project / DATA).read_text().splitlines()[-1] + "\n")
    output = flow(project, "run")
    assert "Data not pinned:" in output and before_training(output)
    assert f"Restore the pinned version with `dvc checkout --force {DATA}.dvc`" in output
    shown_in(readme_block(project, "unpinned"), output)
    fixed = run([sys.executable, "-m", "dvc", "checkout", "--force", f"{DATA}.dvc"], project)
    assert fixed.returncode == 0, fixed.stderr
    assert run([sys.executable, "-m", "dvc", "status", "-q"], project).returncode == 0  # the pinned bytes are back


def test_a_bug_keeps_its_traceback(project):
    """Only expected failures lose the traceback: an exception the code did not mean to raise is a bug."""
    data_py = project / "src" / MODULE / "pipeline" / "data.py"
    original = data_py.read_text()
    data_py.write_text(original.replace('    """Return the feature columns,', '    {}["bug"]\n    """Return', 1))
    try:
        done = run([sys.executable, "flow.py", "--no-pylint", "run"], project)
    finally:
        data_py.write_text(original)
    assert done.returncode != 0
    assert "Internal error" in done.stdout + done.stderr and "KeyError: 'bug'" in done.stdout + done.stderr


def test_card_shows_the_latest_run_that_reached_the_gate(project, gate_failure):
    flow(project, "run", "--skip-gates", "nope")  # the latest run now stops before the gates are judged
    latest = run([sys.executable, "flow.py", "--no-pylint", "card", "get", "evaluate", "latest.html"], project)
    assert latest.returncode != 0 and "Step evaluate not found" in latest.stdout + latest.stderr
    made = run(["make", "card", f"PYTHON={sys.executable}"], project)
    assert made.returncode == 0, made.stdout + made.stderr
    gate_run = re.search(r"Workflow starting \(run-id (\d+)\)", gate_failure)[1]
    assert f"gate card of TrainingFlow/{gate_run} (judged " in made.stdout and "the run did not finish)" in made.stdout
    assert "__MF_DATA__" in (project / "gate-card.html").read_text()
    status = subprocess.run(["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True).stdout
    assert "gate-card.html" not in status  # ignored by git


def test_numbers_with_a_few_words_read_as_missing_when_configured(project):
    """data.coerce_numeric: the words are read as missing, and the run trains, counting them in its log and in MLflow.
    Last in the module: this run reaches the gate, and test_card_shows_the_latest_run_that_reached_the_gate needs the
    gate failure to be the latest that did."""
    edits = {"data.path": typos_table(project), "data.coerce_numeric": ["age"], "training.max_epochs": 2}
    options = variant(project, "coerce.yaml", **edits)
    command = [sys.executable, "flow.py", "--no-pylint", *options, "run", "--allow-unpinned-data", "true"]
    done = run([*command, "--publish", "false"], project, BENTOML_HOME=str(project.parent / "bentoml"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "age: numeric (25 non-numbers read as missing)" in done.stdout  # Metaflow strips the indent
    record = latest_run(mlflow_client(project), MODULE)
    assert record.data.tags["data.coerced.age"] == "25" and record.data.params["data.coerce_numeric"] == "['age']"
