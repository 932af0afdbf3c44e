#!/usr/bin/env bash
# The template's tests; extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
python -m pytest tests "$@"
