"""MkDocs hooks for the template's documentation site (mkdocs.yml):

- the option table on docs/options.md is made from cookiecutter.json (variables, prompts, choices, defaults) at build
  time, so it cannot drift from what `cookiecutter` asks;
- the generated project's README is rendered for the default answers of each task, as cookiecutter renders it, into
  pages of their own (generated/<task>.md), so the lifecycle pages can link to it instead of restating it;
- pymdownx.snippets reads README.md relative to this repository whatever the working directory.
"""

import json
import re
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
OPTIONS_MARKER = "<!-- cookiecutter-options -->"
TASKS = {"tabular_classification": "tabular", "text_classification": "text", "tabular_regression": "regression"}


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def options_table(spec: dict, defaults: dict) -> str:
    """A Markdown table of every cookiecutter variable: its prompt, and its choices (with their prompts) or its default
    (`defaults`: the answers `--no-input` gives; a derived default also shows the expression it comes from)."""
    prompts = spec.get("__prompts__", {})
    rows = ["| option | prompt | values (the first is the default) |", "| --- | --- | --- |"]
    for name, default in spec.items():
        if name.startswith("_"):
            continue
        prompt = prompts.get(name, "")
        labels = prompt if isinstance(prompt, dict) else {}
        question = labels.get("__prompt__", "") if labels else prompt
        if isinstance(default, bool):  # a yes/no capability: its files are generated only with yes
            values = f"`yes` / `no`; default: `{'yes' if defaults[name] else 'no'}`"
        elif isinstance(default, list):
            values = "<br>".join(
                f"`{choice}`" + (f": {cell(labels[choice])}" if choice in labels else "") for choice in default
            )
        else:
            values = f"default: `{cell(str(defaults[name]))}`"
            if "{{" in str(default):
                values += f"<br>derived: `{cell(str(default))}`"
        rows.append(f"| `{name}` | {cell(question)} | {values} |")
    return "\n".join(rows) + "\n"


def default_answers(task: str | None = None, everything: bool = False) -> tuple[dict, dict]:
    """cookiecutter's context for the template and the answers `cookiecutter --no-input` gives (with `task`; with
    `everything`, every yes/no capability the pre-generation hook accepts for that task answered yes)."""
    from cookiecutter.generate import generate_context
    from cookiecutter.prompt import prompt_for_config

    spec = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    capabilities = {name: True for name, value in spec.items() if isinstance(value, bool)} if everything else {}
    extra = ({"task": task} if task else {}) | capabilities or None
    context = generate_context(context_file=str(TEMPLATE / "cookiecutter.json"), extra_context=extra)
    answers = prompt_for_config(context, no_input=True)
    for name in capabilities:  # e.g. mitigation, which the hook refuses for a regression
        if refused(answers | {name: True}, name):
            answers[name] = False
    return context, answers


def refused(answers: dict, name: str) -> bool:
    """The pre-generation hook finds a problem with these answers that names the answer `name`."""
    from cookiecutter.environment import StrictEnvironment

    hook = StrictEnvironment(keep_trailing_newline=True).from_string(
        (TEMPLATE / "hooks" / "pre_gen_project.py").read_text()
    )
    scope: dict = {}
    exec(hook.render(cookiecutter=answers).split('\nif __name__ == "__main__":')[0], scope)  # noqa: S102
    return any(f"answer {name} no" in problem for problem in scope["problems"]())


def render_readme(task: str) -> str:
    """The generated project's README.md as `cookiecutter --no-input . task=<task>` writes it with every capability:
    the site documents them all."""
    from cookiecutter.environment import StrictEnvironment

    context, answers = default_answers(task, everything=True)
    context["cookiecutter"] = answers
    env = StrictEnvironment(context=context, keep_trailing_newline=True)
    source = (TEMPLATE / "{{cookiecutter.project_slug}}" / "README.md").read_text()
    return env.from_string(source).render(cookiecutter=answers)


def readme_page(task: str) -> str:
    """The rendered README under a title of its own; its links to the project's files (not pages of this site) are
    kept as their text."""
    text = render_readme(task)
    title, _, body = text.partition("\n")
    body = re.sub(r"(?<!!)\[([^\]]+)\]\((?!https?://|#)[^)]*\)", r"\1", body)
    note = (
        f"*The `README.md` of a project baked with the default answers, `task={task}` and every capability it takes"
        f" answered `yes` ({title.lstrip('# ')}),"
        " rendered from the template's `{{cookiecutter.project_slug}}/README.md` when this site is built.*"
    )
    return f"# Generated README ({TASKS[task]})\n\n{note}\n{body}"


def on_config(config):
    snippets = config["mdx_configs"].setdefault("pymdownx.snippets", {})
    snippets["base_path"] = [str(TEMPLATE)]
    return config


def on_files(files, config):
    from mkdocs.structure.files import File

    for task, short in TASKS.items():
        files.append(File.generated(config, f"generated/{short}.md", content=readme_page(task)))
    picture = TEMPLATE / "{{cookiecutter.project_slug}}" / "docs" / "drift-demo.png"  # the README's one image
    files.append(File.generated(config, "generated/docs/drift-demo.png", abs_src_path=str(picture)))
    return files


def on_page_markdown(markdown, page, config, files):
    if OPTIONS_MARKER in markdown:
        spec = json.loads((TEMPLATE / "cookiecutter.json").read_text())
        markdown = markdown.replace(OPTIONS_MARKER, options_table(spec, default_answers()[1]))
    return markdown
