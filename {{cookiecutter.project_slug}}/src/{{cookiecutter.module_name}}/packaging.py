"""Put a trained model into the BentoML store (labelled with where it came from) and build the Bento."""

import json
from pathlib import Path

WEIGHTS, SPEC = "weights.pt", "model.json"


def save_model(name: str, weights: bytes, spec: dict, labels: dict[str, str], metadata: dict) -> str:
    """Store the weights and everything needed to rebuild the network and its encoder; return the model tag."""
    import bentoml

    with bentoml.models.create(name, labels={k: str(v) for k, v in labels.items()}, metadata=metadata) as model:
        Path(model.path, WEIGHTS).write_bytes(weights)
        Path(model.path, SPEC).write_text(json.dumps(spec))
    return str(model.tag)


def build_bento(model_tag: str, project_dir: str | Path = ".") -> str:
    """Build the Bento described by bentofile.yaml, pinned to this model version."""
    import bentoml

    bento = bentoml.bentos.build_bentofile(
        str(Path(project_dir, "bentofile.yaml")),
        build_ctx=str(project_dir),
        labels={"model": model_tag},
        args={"model_tag": model_tag},
    )
    return str(bento.tag)
