#!/usr/bin/env bash
# The template's tests; extra arguments go to pytest (paths default to pyproject's testpaths: tests/).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
python -m pytest --durations=15 "$@"
