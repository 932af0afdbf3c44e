"""Text task: a Hugging Face tokenizer and `AutoModelForSequenceClassification`, fine-tuned inside the shared
LightningModule. `model.name_or_path` is a hub id or a local directory; `from_pretrained` is called only at training,
and the encoder state carries the tokenizer files and the model config, so serving never needs the hub.
Task interface (shared with tasks/tabular.py): NAME, fit_encoder, encoder_from_state, build_network, record_fields,
input_fields.
"""

import base64
import hashlib
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from ..data import Columns, classes_of, encode_labels

NAME = "text"


@dataclass
class TextEncoder:
    text_column: str
    max_length: int
    classes: list
    tokenizer_files: dict[str, str] = field(default_factory=dict)  # file name -> base64 content
    model_config: dict = field(default_factory=dict)  # the pretrained model's config, num_labels set
    base_model: dict = field(default_factory=dict)  # name_or_path, revision asked for, commit (hub) or md5 (directory)

    @cached_property
    def tokenizer(self):
        from transformers import AutoTokenizer

        with tempfile.TemporaryDirectory() as tmp:
            for name, content in self.tokenizer_files.items():
                Path(tmp, name).write_bytes(base64.b64decode(content))
            return AutoTokenizer.from_pretrained(tmp)

    def transform(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(input_ids, attention_mask), truncated to `max_length` and padded (on the right) only to the longest text
        of `df`; training and prediction trim each batch further to its own longest text (batching.py)."""
        texts = df[self.text_column].fillna("").astype(str).tolist()
        if not texts:  # an empty split (validation_size: 0): the tokenizer cannot pad an empty batch
            return np.zeros((0, 0), dtype="int64"), np.zeros((0, 0), dtype="int64")
        encoded = self.tokenizer(
            texts,
            padding="longest",
            padding_side="right",
            truncation=True,
            max_length=self.max_length,
            return_tensors="np",
        )
        return encoded["input_ids"].astype("int64"), encoded["attention_mask"].astype("int64")

    def transform_records(self, records: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        """`transform` of request records (the service's path; the tokenizer dominates, so no fast path here)."""
        return self.transform(pd.DataFrame.from_records(records, columns=[self.text_column]))

    def encode_target(self, values: pd.Series) -> np.ndarray:
        return encode_labels(self.classes, values)

    def state(self) -> dict:
        return {
            "text_column": self.text_column,
            "max_length": self.max_length,
            "classes": self.classes,
            "tokenizer_files": self.tokenizer_files,
            "model_config": self.model_config,
            "base_model": self.base_model,
        }


def fit_encoder(train: pd.DataFrame, columns: Columns, cfg) -> TextEncoder:
    """Tokenizer and config from `model.name_or_path` (hub id or local directory), labels from the training split."""
    from transformers import AutoConfig, AutoTokenizer

    classes = classes_of(train[cfg.data.target], cfg.data.positive_label)
    source, revision = cfg.model.name_or_path, cfg.model.revision
    tokenizer = AutoTokenizer.from_pretrained(source, revision=revision)
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer.save_pretrained(tmp)
        files = {p.name: base64.b64encode(p.read_bytes()).decode() for p in Path(tmp).iterdir() if p.is_file()}
    config = AutoConfig.from_pretrained(source, num_labels=len(classes), revision=revision)
    base = {"name_or_path": source, "revision": revision or "", "commit": resolved_commit(config, source)}
    return TextEncoder(columns.text[0], cfg.model.max_length, classes, files, config.to_dict(), base)


def dir_md5(path: Path) -> str:
    """One hash of a directory's files (relative names and contents): a local base model."""
    from ...lineage.lineage import md5

    digest = hashlib.md5()
    for file in sorted(p for p in Path(path).rglob("*") if p.is_file()):
        digest.update(f"{file.relative_to(path).as_posix()}:{md5(file)}\n".encode())
    return digest.hexdigest()


def resolved_commit(config, source: str) -> str:
    """What `from_pretrained` actually read: the hub commit behind the revision, or the md5 of a local directory."""
    if Path(source).is_dir():
        return f"md5:{dir_md5(Path(source))}"
    return getattr(config, "_commit_hash", None) or ""


def encoder_from_state(state: dict) -> TextEncoder:
    return TextEncoder(**state)


def build_network(encoder: TextEncoder, model, pretrained: bool = True):
    """The pretrained weights at training time (`pretrained`), else the same architecture from the stored config
    (weights are loaded afterwards): either way a module mapping (input_ids, attention_mask) to logits."""
    import torch.nn as nn
    from transformers import AutoConfig, AutoModelForSequenceClassification

    settings = dict(encoder.model_config)
    config = AutoConfig.for_model(settings.pop("model_type"), **settings)
    if pretrained:
        hf_model = _pretrained(AutoModelForSequenceClassification, model, config)
    else:
        hf_model = AutoModelForSequenceClassification.from_config(config)

    class SequenceClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = hf_model
            if model.freeze_encoder:
                for parameter in hf_model.base_model.parameters():
                    parameter.requires_grad = False

        def forward(self, input_ids, attention_mask):
            return self.model(input_ids=input_ids, attention_mask=attention_mask).logits

    return SequenceClassifier().train()  # from_pretrained returns a model in eval mode


def _pretrained(auto_class, model, config):
    """The pretrained weights, with a new (seeded) classification head for this label set where the checkpoint has
    none or another size. Hugging Face logs that as a LOAD REPORT table of MISSING keys, which reads like a fault: it
    is silenced, and the new head is named in one line instead (any other key missing or unexpected is listed)."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        hf_model, info = auto_class.from_pretrained(
            model.name_or_path,
            config=config,
            ignore_mismatched_sizes=True,
            revision=model.revision,
            output_loading_info=True,
        )
    finally:
        hf_logging.set_verbosity(level)
    new = sorted({*info["missing_keys"], *(key for key, *_ in info["mismatched_keys"])})
    head = [key for key in new if key.split(".")[0] in ("classifier", "pre_classifier", "score")]
    if head:
        print(f"{model.name_or_path}: new classification head for {config.num_labels} classes, trained here: {head}")
    if other := [key for key in new if key not in head]:
        print(f"WARNING: {model.name_or_path}: weights not in the checkpoint, initialised at random: {other}")
    return hf_model


def record_fields(encoder: TextEncoder, serving: dict) -> dict:
    """One request field: the text, non-empty and at most `serving.max_text_chars` characters."""
    from pydantic import Field

    text = Field(..., min_length=1, max_length=serving["max_text_chars"], pattern=r"\S")  # not empty, not blank
    return {encoder.text_column: (str, text)}


def input_fields(encoder: TextEncoder) -> list[str]:
    """Token ids are integers, always finite: no field to name."""
    return []
