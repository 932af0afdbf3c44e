"""Project commands beside the flow (also `make snapshot`, `make reproduce`, `make lineage`).

snapshot TAG [-m WHY]       tag code + data together (data pushed to the DVC remote)
reproduce TAG [--against]   re-run a snapshot in a fresh checkout; exit 1 if anything differs
lineage [--bento|--version] Bento -> model -> MLflow run -> Metaflow run -> commit -> data -> snapshot
example [--rows N]          write examples/request.json from the data's first rows (after changing data or columns)
"""

import argparse
import json
import sys

import yaml

from .config import load
from .snapshots import ROOT, SnapshotError, reproduce, snapshot


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m {{ cookiecutter.module_name }}.cli",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    snap = commands.add_parser("snapshot", help="tag code + data together")
    snap.add_argument("tag")
    snap.add_argument("-m", "--message", default="")
    rep = commands.add_parser("reproduce", help="re-run a snapshot and compare")
    rep.add_argument("tag")
    rep.add_argument("--against", default="", help="compare with this MLflow run id instead of the recorded one")
    lin = commands.add_parser("lineage", help="print the chain behind a Bento or registry version")
    lin.add_argument("--bento", default="", help="Bento tag (default: the latest)")
    lin.add_argument("--version", default="", help="MLflow registry version instead of a Bento")
    ex = commands.add_parser("example", help="write a valid request from the data's first rows")
    ex.add_argument("--rows", type=int, default=2)
    ex.add_argument("--out", default="examples/request.json")
    args = parser.parse_args(argv)
    if args.command == "example" and args.rows < 1:
        parser.error("--rows must be positive")
    cfg = load(ROOT / "params.yaml")
    name = cfg.packaging.model_name
    bento_name = yaml.safe_load((ROOT / "bentofile.yaml").read_text())["name"]
    try:
        if args.command == "snapshot":
            print(snapshot(args.tag, name, args.message))
        elif args.command == "reproduce":
            same, report = reproduce(args.tag, name, args.against)
            print(report)
            return 0 if same else 1
        elif args.command == "example":
            from .data import model_inputs, read_table, request_example, validate_table

            table = read_table(ROOT / cfg.data.path)
            columns = validate_table(table, cfg.data)
            body = request_example(table, columns, model_inputs(columns, cfg), args.rows)
            out = ROOT / args.out
            records = ",\n".join(f"    {json.dumps(record)}" for record in body["records"])  # one per line
            out.write_text('{\n  "records": [\n' + records + "\n  ]\n}\n")
            print(f"{out}: {len(body['records'])} records with fields {list(body['records'][0])}")
        else:
            from .provenance import chain

            for link, value in chain(name, bento_name, args.bento, args.version):
                print(f"{link:>22}  {value}")
    except (SnapshotError, LookupError, ValueError) as err:  # ValueError: the data does not match params.yaml
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
