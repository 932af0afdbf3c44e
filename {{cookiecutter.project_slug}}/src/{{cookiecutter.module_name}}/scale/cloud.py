"""The cloud profile: what a step needs when it runs away from the workspace (a Kubernetes pod, an Argo task).

On when Metaflow's datastore is not the local one (steps can then run elsewhere); off, a laptop run is unchanged.
`make up` writes a profile for a local stack (.stack/cloud.env); on a real cluster the same variables name a bucket
and a tracking server:

    METAFLOW_DEFAULT_DATASTORE=s3, METAFLOW_DATASTORE_SYSROOT_S3   Metaflow's datastore (and the code package)
    MLFLOW_TRACKING_URI                                            the MLflow tracking server (artifacts: its own store)
    CLOUD_DVC_REMOTE                                               the DVC remote the steps read the pinned data from
    CLOUD_BENTO_STORE                                              where the package step exports the model and Bento
    AWS_ENDPOINT_URL                                               an S3-compatible endpoint (unset for AWS itself)

FORWARDED goes to every step (@environment; Metaflow passes its own METAFLOW_* settings itself); credentials do not:
a pod takes its own (a service account's role, or a Kubernetes secret named by METAFLOW_KUBERNETES_SECRETS).
"""

import hashlib
import json
import os
import tempfile
from pathlib import Path

from ..config import PROJECT_ROOT
from ..lineage.git import LAUNCH_GIT, git_facts

FORWARDED = (
    "MLFLOW_TRACKING_URI",
    "CLOUD_DVC_REMOTE",
    "CLOUD_BENTO_STORE",
    "AWS_ENDPOINT_URL",
    "AWS_DEFAULT_REGION",
    "MLFLOW_DISABLE_TELEMETRY",
    "BENTOML_DO_NOT_TRACK",
    "DVC_NO_ANALYTICS",
)
# what steps read besides code: Metaflow packages only *.py by default, so these are added to its code package
PACKAGED = ("params.yaml", "bentofile.yaml", "requirements.txt", "requirements-serve.txt", "data/*.dvc")


def is_on() -> bool:
    return os.environ.get("METAFLOW_DEFAULT_DATASTORE", "local") != "local"


def forwarded_env() -> dict[str, str]:
    """The profile's variables set here (at launch, and again in the step, which received them); none when it is off."""
    return {name: os.environ[name] for name in FORWARDED if os.environ.get(name)} if is_on() else {}


def bento_store() -> str:
    return os.environ.get("CLOUD_BENTO_STORE", "").rstrip("/")


def package_files(root: Path = PROJECT_ROOT) -> list[tuple[str, str]]:
    """(file, name in the package) for what steps read besides code, and the launch's git facts as a file."""
    found = [path for pattern in PACKAGED for path in sorted(root.glob(pattern))]
    files = [(str(path), path.relative_to(root).as_posix()) for path in found]
    # one file per project, rewritten at each launch (not a new temporary directory per launch)
    facts = Path(tempfile.gettempdir(), f"launch-git-{hashlib.md5(str(root).encode()).hexdigest()}", LAUNCH_GIT)
    facts.parent.mkdir(exist_ok=True)
    facts.write_text(json.dumps(git_facts(root)))
    return [*files, (str(facts), LAUNCH_GIT)]
