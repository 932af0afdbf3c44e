"""Project commands beside the flow (also `make snapshot`, `make reproduce`, `make lineage`).

snapshot TAG [-m WHY]       tag code + data together (data pushed to the DVC remote)
reproduce TAG [--against]   re-run a snapshot in a fresh checkout; exit 1 if anything differs
lineage [--bento|--version] Bento -> model -> MLflow run -> Metaflow run -> commit -> data -> snapshot
"""

import argparse
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
    args = parser.parse_args(argv)
    name = load(ROOT / "params.yaml").packaging.model_name
    bento_name = yaml.safe_load((ROOT / "bentofile.yaml").read_text())["name"]
    try:
        if args.command == "snapshot":
            print(snapshot(args.tag, name, args.message))
        elif args.command == "reproduce":
            same, report = reproduce(args.tag, name, args.against)
            print(report)
            return 0 if same else 1
        else:
            from .provenance import chain

            for link, value in chain(name, bento_name, args.bento, args.version):
                print(f"{link:>22}  {value}")
    except (SnapshotError, LookupError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
