"""The documentation site (`make docs`): `mkdocs build --strict` passes (every nav page, link and anchor resolves), the
option table is made from cookiecutter.json, README.md's sections and the generated README are included rather than
copied, and nothing is fetched from the network when a page is viewed."""

import importlib.util
import json
import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest

from .conftest import TEMPLATE, project_env

SPEC = json.loads((TEMPLATE / "cookiecutter.json").read_text())
VARIABLES = [name for name in SPEC if not name.startswith("_")]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=TEMPLATE,
        env=project_env(NO_MKDOCS_2_WARNING="1"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    return out


def text(html: str) -> str:
    """The visible text of an HTML fragment, whitespace collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def article(site: Path, page: str) -> str:
    html = (site / page / "index.html").read_text() if page else (site / "index.html").read_text()
    return html[html.index("<article") : html.index("</article>")]


def option_rows(html: str) -> dict[str, str]:
    """{option: its row's text} from the first table of a page."""
    table = html[html.index("<table") : html.index("</table>")]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]:
        first, *_ = re.findall(r"<td>(.*?)</td>", row, re.S)
        rows[text(first)] = text(row)
    return rows


def test_the_option_table_lists_every_variable_prompt_and_choice(site):
    rows = option_rows(article(site, "options"))
    assert list(rows) == VARIABLES
    prompts = SPEC["__prompts__"]
    for name in VARIABLES:
        prompt, row = prompts[name], rows[name]
        assert (prompt["__prompt__"] if isinstance(prompt, dict) else prompt) in row, name
        if isinstance(SPEC[name], list):
            for choice in SPEC[name]:
                assert f"{choice} : {prompt[choice]}" in row if isinstance(prompt, dict) else choice in row, choice
        else:
            assert "default:" in row and ("derived:" in row) == ("{{" in str(SPEC[name])), row
    assert "default: credit-approval-model" in rows["project_slug"]  # the value --no-input gives, not the expression
    assert "default: approved" in rows["target_column"]


def test_the_option_table_follows_cookiecutter_json():
    """A variable or choice added to cookiecutter.json is in the table with no edit to the docs."""
    spec = importlib.util.spec_from_file_location("docs_hooks", TEMPLATE / "scripts" / "docs_hooks.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    changed = json.loads(json.dumps(SPEC))
    changed["tracker"] = ["mlflow", "wandb"]
    changed["__prompts__"]["tracker"] = {"__prompt__": "Experiment tracker", "mlflow": "MLflow", "wandb": "W&B | x"}
    table = hooks.options_table(changed, hooks.default_answers()[1] | {"tracker": "mlflow"})
    assert "| `tracker` | Experiment tracker | `mlflow`: MLflow<br>`wandb`: W&B \\| x |" in table.splitlines()
    assert len(table.splitlines()) == 2 + len(VARIABLES) + 1


def test_the_home_page_includes_the_readme_sections(site):
    home = article(site, "")
    assert 'id="quick-start"' in home and 'id="what-you-get"' in home and 'id="development"' in home
    readme = (TEMPLATE / "README.md").read_text()
    for line in ("make quickstart   # set up .venv", "make test         # the template's test suite"):
        assert line in readme and text(line) in text(home), line
    options = article(site, "options")
    assert "Bad answers are refused before anything is written" in text(options)
    assert "--8&lt;--" not in home + options and "--8<--" not in home + options


TASK_LINES = [
    ("tabular", "the encoder fitted on the training split"),
    ("text", "POST /classify"),
    ("regression", "POST /estimate"),
]


@pytest.mark.parametrize(("page", "task_line"), TASK_LINES)
def test_the_generated_readme_is_rendered_per_task(site, page, task_line):
    body = text(article(site, f"generated/{page}"))
    assert task_line in body and "src/credit_approval_model/" in body
    assert "{{ cookiecutter" not in body and "{%" not in body
    if page == "regression":  # rendered with the capabilities its pre-generation hook accepts: no mitigation
        assert "ThresholdOptimizer" not in body and "mitigation=no" in body


def test_nothing_is_fetched_from_the_network(site):
    """theme.font: false (no Google Fonts); every script, stylesheet and image is local."""
    for page in site.rglob("*.html"):
        html = page.read_text()
        assert "fonts.googleapis" not in html and "fonts.gstatic" not in html, page
        assert not re.search(r'<(script|img)[^>]+src="(https?:)?//', html), page
        assert not re.search(r'<link[^>]+href="(https?:)?//', html), page
    assert {p.parent.name for p in site.rglob("index.html")} >= {"options", "data", "training", "gates", "serving"}
