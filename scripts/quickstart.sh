#!/usr/bin/env bash
# Bake a project with the default answers, run its flow, serve the model, print one prediction, stop the server.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
OUT=build/quickstart
rm -rf "$OUT" && mkdir -p "$OUT"
cookiecutter --no-input --output-dir "$OUT" .
cd "$OUT"/*/
echo "== baked $(pwd)"
python flow.py run
PORT=$(python -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
bentoml serve --host 127.0.0.1 --port "$PORT" > serve.log 2>&1 &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 120); do
  curl -sf "http://127.0.0.1:$PORT/readyz" > /dev/null && break
  kill -0 $SERVER 2>/dev/null || { cat serve.log; exit 1; }
  sleep 0.5
done
echo "== POST /predict with examples/request.json"
curl -sSf -X POST -H 'content-type: application/json' -d @examples/request.json "http://127.0.0.1:$PORT/predict"
echo
