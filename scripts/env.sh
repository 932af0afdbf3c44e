# Offline, telemetry-free settings shared by the quick start, the tests and the benchmark.
export BENTOML_DO_NOT_TRACK=true MLFLOW_DISABLE_TELEMETRY=true DVC_NO_ANALYTICS=1 HF_HUB_OFFLINE=1
# Metaflow refuses to run without a user name, and refuses "root".
if [[ -z "${METAFLOW_USER:-}" && ( -z "${USER:-}" || "${USER}" == root ) ]]; then export METAFLOW_USER=developer; fi
