"""Train a network with Lightning: seeded, deterministic on CPU, on a GPU when one is present (else CPU, said once)."""

import io
import logging
import warnings

import numpy as np

from .config import TrainingConfig

log = logging.getLogger(__name__)


def resolve_device(cfg: TrainingConfig) -> tuple[str, str]:
    """(accelerator, precision) for this machine: never fails for lack of a GPU."""
    import torch

    has_gpu = torch.cuda.is_available()
    wants_gpu = cfg.accelerator == "gpu" or (cfg.accelerator == "auto" and cfg.gpus > 0)
    if wants_gpu and not has_gpu:
        log.warning("no GPU found: training on CPU")
    accelerator = "gpu" if has_gpu and cfg.accelerator != "cpu" else "cpu"
    if cfg.precision != "auto":
        return accelerator, cfg.precision if accelerator == "gpu" else "32-true"
    if accelerator == "gpu":
        return accelerator, "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"
    return accelerator, "32-true"


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch: call before building the network so its initial weights are reproducible."""
    import pytorch_lightning as pl

    pl.seed_everything(seed, workers=True, verbose=False)


def _loader(x, y: np.ndarray, batch_size: int, shuffle: bool, seed: int, pin: bool):
    """x: one array of inputs, or a tuple of them (e.g. token ids and attention mask)."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    inputs = x if isinstance(x, tuple) else (x,)
    data = TensorDataset(*(torch.from_numpy(a) for a in inputs), torch.from_numpy(y))
    return DataLoader(
        data, batch_size=batch_size, shuffle=shuffle, generator=torch.Generator().manual_seed(seed), pin_memory=pin
    )


def fit(network, train: tuple, validation: tuple, cfg: TrainingConfig, seed: int) -> dict:
    """Fit `network` in place on (x, y) arrays; return the per-epoch history and the device used."""
    import pytorch_lightning as pl

    from .classifier import Classifier

    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    seed_everything(seed)  # again: the data order and dropout masks start from the seed too
    accelerator, precision = resolve_device(cfg)
    log.info("training on %s with precision %s", accelerator, precision)
    pin = accelerator == "gpu"
    history = []

    class History(pl.Callback):
        def on_train_epoch_end(self, trainer, _):
            history.append({k: float(v) for k, v in trainer.callback_metrics.items()})

    trainer = pl.Trainer(
        max_epochs=cfg.max_epochs,
        accelerator=accelerator,
        devices=1,
        precision=precision,
        deterministic=accelerator == "cpu" or "warn",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=[History()],
    )
    has_val = len(validation[1]) > 0
    trainer.fit(
        Classifier(network, cfg.learning_rate, cfg.weight_decay, cfg.warmup_ratio),
        _loader(*train, cfg.batch_size, True, seed, pin),
        _loader(*validation, cfg.batch_size, False, seed, pin) if has_val else None,
    )
    return {"history": history, "accelerator": accelerator, "precision": precision}


def weights_to_bytes(network) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in network.state_dict().items()}, buffer)
    return buffer.getvalue()


def load_weights(network, blob: bytes):
    import torch

    network.load_state_dict(torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True))
    return network.eval()
