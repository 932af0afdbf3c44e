"""Project commands beside the flow ({{ "`make snapshot`, `reproduce`, `lineage`" if cookiecutter.snapshots else "`make lineage`" }}, `example`, `card`, `serve`, `promote`)."""

import argparse
import json
import os
import sys
from pathlib import Path

import yaml

from .config import PROJECT_ROOT, load
from .errors import ProjectError
from .lineage.provenance import chain
{%- if cookiecutter.snapshots %}
from .lineage.snapshots import SnapshotError, reproduce, snapshot
{%- endif %}
from .release.promotion import PromotionError, promote, serving_tag


def latest_gate_task(flow: str = "TrainingFlow"):
    """The evaluate task (it judges the gates) of the newest run (in your Metaflow namespace) where it finished: `python
    flow.py card view evaluate` looks only at the latest run, which may have stopped before it."""
    from metaflow import Flow
    from metaflow.exception import MetaflowNotFound

    try:
        runs = list(Flow(flow).runs())
    except MetaflowNotFound:
        runs = []
    for run in runs:  # newest first
        task = run["evaluate"].task if "evaluate" in run else None
        if task is not None and task.successful:
            return task
    raise LookupError(f"no {flow} run has judged its gates yet: run `python flow.py run`")


def write_gate_card(out: str) -> str:
    """Write the gate card (self-contained HTML) of the latest run that has one; say which run it is."""
    from metaflow.cards import get_cards

    target = Path(out).resolve()
    os.chdir(PROJECT_ROOT)  # the Metaflow client reads the .metaflow datastore of the working directory
    task = latest_gate_task()
    (card,) = get_cards(task, id="gates")
    target.write_text(card.get())
    run = task.parent.parent
    status = "finished" if run.successful else "did not finish"
    return f"{out}: gate card of {run.pathspec} (judged {task.finished_at:%Y-%m-%d %H:%M}; the run {status})"


def main(argv=None) -> int:
    # the console script `make install` adds; or python -m <module>.cli
    parser = argparse.ArgumentParser(prog="{{ cookiecutter.project_slug }}", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
{%- if cookiecutter.snapshots %}
    snap = commands.add_parser("snapshot", help="tag code + data together (data pushed to the DVC remote)")
    snap.add_argument("tag", help="the git tag to create, e.g. v1")
    snap.add_argument("-m", "--message", default="", help="the tag's message: why this snapshot")
    rep = commands.add_parser("reproduce", help="re-run a snapshot in a fresh checkout; exit 1 if anything differs")
    rep.add_argument("tag", help="a tag `snapshot` made")
    rep.add_argument("--against", default="", help="compare with this MLflow run id instead of the recorded one")
{%- endif %}
    lin = commands.add_parser("lineage", help="print the chain behind a Bento or registry version; exit 1 if broken")
    lin.add_argument("--bento", default="", help="Bento tag (default: the latest)")
    lin.add_argument("--version", default="", help="MLflow registry version instead of a Bento")
    ex = commands.add_parser("example", help="write a request from the data's first rows (after data changes)")
    ex.add_argument("--rows", type=int, default=2, help="records in the request (default: 2)")
    ex.add_argument("--out", default="examples/request.json", help="where to write it (default: %(default)s)")
{%- if cookiecutter.monitoring %}
    ret = commands.add_parser("retrain", help="add a labelled batch's new rows to the data and retrain on it")
    ret.add_argument("batch", help="CSV or Parquet with the training table's columns, the target filled in")
{%- endif %}
    crd = commands.add_parser("card", help="write the gate card of the latest run that reached the gate")
    crd.add_argument("--out", default="gate-card.html", help="where to write it (default: %(default)s)")
    srv = commands.add_parser("serve", help="serve the model behind a registry alias (default: champion) or version")
    srv.add_argument("model", nargs="?", default="champion", help="champion, candidate or a registry version number")
    srv.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: %(default)s)")
    srv.add_argument("--port", type=int, default=3000, help="the port to listen on (default: %(default)s)")
    srv.add_argument("--print-tag", action="store_true", help="print the BentoML model tag only; do not serve")
{%- if cookiecutter.monitoring %}
    srv.add_argument("--shadow", default=None, help="candidate, a version, none (default: shadow.model)")
{%- endif %}
    pro = commands.add_parser("promote", help="move `champion` to a version that passed every gate; exit 1 if refused")
    pro.add_argument("version", help="the registry version number to make champion")
{%- if cookiecutter.monitoring %}
    sha = commands.add_parser("shadow-report", help="judge the challenger that ran in shadow; exit 1 if it failed")
    sha.add_argument("--challenger", default=None, help="alias or version (default: shadow.model, else candidate)")
    sha.add_argument("--batch", default="", help="a labelled CSV or Parquet batch: both models' gates on it")
{%- endif %}
    args = parser.parse_args(argv)
    if args.command == "example" and args.rows < 1:
        parser.error("--rows must be positive")
    try:
        return command(args)
    except PromotionError as err:  # the registry refuses (no such alias or version, a blocked promotion): exit 1
        print(f"error: {err}", file=sys.stderr)
        return 1
    except (ProjectError, {{ "SnapshotError, " if cookiecutter.snapshots }}LookupError, ValueError) as err:  # ValueError: data does not match params
        print(f"error: {err}", file=sys.stderr)
        return 2


def command(args) -> int:
    if args.command == "card":  # needs no params.yaml
        print(write_gate_card(args.out))
        return 0
    cfg = load(PROJECT_ROOT / "params.yaml")
    name = cfg.packaging.model_name
    if args.command == "serve":
        return serve(cfg, args)
    if args.command == "promote":  # the MLflow registry's aliases decide what serves
{%- if cookiecutter.monitoring %}
        print(promote(name, args.version, cfg.packaging.require_shadow))
{%- else %}
        print(promote(name, args.version))
{%- endif %}
{%- if cookiecutter.monitoring %}
    elif args.command == "shadow-report":
        from .monitoring.shadow_report import report

        passed, text = report(cfg, args.challenger or cfg.shadow.model or "candidate", args.batch)
        print(text)
        return 0 if passed else 1
{%- endif %}
{%- if cookiecutter.snapshots %}
    elif args.command == "snapshot":
        print(snapshot(args.tag, name, args.message))
    elif args.command == "reproduce":
        same, text = reproduce(args.tag, name, args.against)
        print(text)
        return 0 if same else 1
{%- endif %}
{%- if cookiecutter.monitoring %}
    elif args.command == "retrain":
        return retrain(cfg, args.batch)
{%- endif %}
    elif args.command == "example":
        from .pipeline.data import model_inputs, read_table, request_example, validate_table

        table = read_table(PROJECT_ROOT / cfg.data.path)
        columns = validate_table(table, cfg.data)
        body = request_example(table, columns, model_inputs(columns, cfg), args.rows)
        out = PROJECT_ROOT / args.out
        records = ",\n".join(f"    {json.dumps(record)}" for record in body["records"])  # one per line
        out.write_text('{\n  "records": [\n' + records + "\n  ]\n}\n")
        print(f"{out}: {len(body['records'])} records with fields {list(body['records'][0])}")
    else:
        bento_name = yaml.safe_load((PROJECT_ROOT / "bentofile.yaml").read_text())["name"]
        rows, broken = chain(name, bento_name, args.bento, args.version)
        for link, value in rows:
            print(f"{link:>22}  {value}")
        if broken:  # the links above are verified; none after this one can be
            print(f"error: lineage broken: {broken}", file=sys.stderr)
            return 1
    return 0
{%- if cookiecutter.monitoring %}


def retrain(cfg, batch: str) -> int:
    """The batch's new labelled rows appended to data.path and pinned, then the flow; exit 1 if the challenger fails."""
    from .monitoring.retrain import append, new_rows, pin, run_flow
    from .pipeline.data import read_table

    path = Path(cfg.data.path)
    table = read_table(PROJECT_ROOT / path)
    rows = new_rows(table, read_table(batch), cfg.data.target, batch)
    append(PROJECT_ROOT / path, table, rows)
    md5 = pin(path, PROJECT_ROOT)
    print(f"{path}: {len(table)} + {len(rows)} rows from {batch}, pinned as md5 {md5} (commit {path}.dvc)", flush=True)
    passed, pathspec = run_flow(PROJECT_ROOT / "flow.py")
    print(f"retrain {pathspec}: " + ("the challenger passed every gate" if passed else "the challenger did not pass"))
    return 0 if passed else 1
{%- endif %}


def require_free_port(host: str, port: int) -> None:
    """Stop in one line when something already listens there (the server would fail later, with a traceback, and
    `make predict` would reach the other program). SO_REUSEADDR as the server's own socket: a closed connection's
    TIME_WAIT does not count."""
    import socket

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            taken = f"port {port} on {host} is taken ({err.strerror})"
            raise ProjectError(f"{taken}: stop what holds it, or serve on another (make serve PORT=...)") from None


def serve(cfg, args) -> int:
    """`bentoml serve` the model behind a registry alias or version (this process becomes the server)."""
    name = cfg.packaging.model_name
    if not args.print_tag:
        require_free_port(args.host, args.port)
    tag, version = serving_tag(name, args.model)
{%- if cookiecutter.monitoring %}
    shadow = cfg.shadow.model if args.shadow is None else None if args.shadow == "none" else args.shadow
    shadow_tag, shadow_version = serving_tag(name, shadow) if shadow else ("", "")
{%- endif %}
    if args.print_tag:
        print(tag)
        return 0
    bentoml = Path(sys.executable).with_name("bentoml")
    cmd = [str(bentoml) if bentoml.exists() else "bentoml", "serve", "--host", args.host, "--port", str(args.port)]
{%- if cookiecutter.monitoring %}
    cmd += ["--arg", f"model_tag={tag}"] + (["--arg", f"shadow_tag={shadow_tag}"] if shadow_tag else [])
    print(f"serving {name} {args.model} (registry v{version}): {tag} on http://{args.host}:{args.port}", flush=True)
    if shadow_tag:
        print(f"in shadow: {name} {shadow} (registry v{shadow_version}): {shadow_tag}", flush=True)
{%- else %}
    cmd += ["--arg", f"model_tag={tag}"]
    print(f"serving {name} {args.model} (registry v{version}): {tag} on http://{args.host}:{args.port}", flush=True)
{%- endif %}
    os.chdir(PROJECT_ROOT)  # bentofile.yaml names the service
    os.execvp(cmd[0], cmd)  # the server gets this process: Ctrl-C and kill reach it
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
