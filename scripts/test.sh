#!/usr/bin/env bash
# The template's tests; extra arguments go to pytest (paths default to pyproject's testpaths: tests/).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
# Two test modules at a time (TEST_WORKERS=0: one process): flows and servers are mostly single-threaded, and each
# module keeps its own projects and stores, so modules are independent (--dist loadfile keeps a module in one worker).
workers=${TEST_WORKERS:-2}
parallel=()
# --no-loadscope-reorder: keep the longest-first module order of tests/conftest.py (xdist would otherwise hand out the
# modules with the most tests first, which are not the longest).
if [ "$workers" != 0 ]; then parallel=(-n "$workers" --dist loadfile --no-loadscope-reorder); fi
start=$SECONDS
status=0
python -m pytest --durations=15 "${parallel[@]}" "$@" || status=$?
echo "test suite: $((SECONDS - start)) s with ${workers} worker(s)"
exit "$status"
