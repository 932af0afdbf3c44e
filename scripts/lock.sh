#!/usr/bin/env bash
# Re-resolve every lock the template ships, each from its own requirements (uv, hashes, torch left out: it installs
# from its own index):
#   {{cookiecutter.project_slug}}/locks/<task>-py<python>.txt   a generated project's requirements.lock, made by baking
#                                                              the template and running the project's own `make lock`
#   requirements-dev.lock                                      the template's own venv (`make setup`)
# The current locks are the preferences: nothing moves unless a requirement changed, or UPGRADE=1.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
PY=${PY:-python}
TEMPLATE=$PWD
LOCKS="{{cookiecutter.project_slug}}/locks"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for task in tabular_classification text_classification; do
    for python in $("$PY" -c "import json; print(' '.join(json.load(open('cookiecutter.json'))['python_version']))"); do
        out="$work/$task-$python"
        "$PY" -m cookiecutter --no-input -o "$out" "$TEMPLATE" task="$task" python_version="$python" >/dev/null
        project=$(echo "$out"/*)
        make -s -C "$project" lock PYTHON="$PY" ${UPGRADE:+UPGRADE=1}
        cp "$project/requirements.lock" "$LOCKS/$task-py$python.txt"
        echo "$LOCKS/$task-py$python.txt"
    done
done
"$PY" -m uv pip compile requirements-dev.txt --universal --python-version 3.11 --generate-hashes --quiet \
    --excludes <(echo torch) ${UPGRADE:+--upgrade} --custom-compile-command "make lock" -o requirements-dev.lock
echo requirements-dev.lock
