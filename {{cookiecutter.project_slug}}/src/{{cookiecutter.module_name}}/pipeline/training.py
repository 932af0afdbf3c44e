"""Train a network with Lightning: seeded, deterministic on CPU, on a GPU when one is present (else CPU, said once);
the best epoch on the validation split is the one kept, and training stops early when it stops improving."""

import io
import logging
import warnings

import numpy as np

from ..config import TrainingConfig
{%- if cookiecutter.scale_out %}
from .distributed import RanksMissing, Rendezvous, trainer_arguments
{%- endif %}

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
    import lightning.pytorch as pl

    pl.seed_everything(seed, workers=True, verbose=False)


def _loader(x, y: np.ndarray, batch_size: int, shuffle: bool, seed: int, pin: bool):
{%- if cookiecutter.task == "text_classification" %}
    """x: one array of inputs, or a tuple of them (token ids and attention mask: each batch is trimmed to its longest
    text, see batching.py). Each batch is one indexing of the tensors (a batch sampler), not `batch_size` single rows
    stacked again: the same batches as a shuffled DataLoader from the same seed, at a fraction of the cost."""
    import torch
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler, TensorDataset

    from .batching import trim_batch
{%- else %}
    """Each batch is one indexing of the tensors (a batch sampler), not `batch_size` single rows stacked again: the
    same batches as a shuffled DataLoader from the same seed, at a fraction of the cost."""
    import torch
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler, TensorDataset
{%- endif %}

    inputs = x if isinstance(x, tuple) else (x,)
    data = TensorDataset(*(torch.from_numpy(a) for a in inputs), torch.from_numpy(y))
    generator = torch.Generator().manual_seed(seed)
    order = RandomSampler(data, generator=generator) if shuffle else SequentialSampler(data)
    return DataLoader(
        data,
        sampler=BatchSampler(order, batch_size, drop_last=False),
        batch_size=None,  # the sampler yields whole batches of indices; the dataset indexes them at once
        generator=generator,
        pin_memory=pin,
{%- if cookiecutter.task == "text_classification" %}
        collate_fn=trim_batch,
{%- endif %}
    )


def _callbacks(cfg: TrainingConfig, has_val: bool) -> list:
    """With a validation split: keep the best epoch's weights, and stop early after `patience` epochs without
    improvement (0 or null: never). Always: the progress lines, last so they see this epoch's best."""
    from lightning.pytorch.callbacks import EarlyStopping

    from .callbacks import MODES, BestWeights, Progress

    if not has_val:
        return [Progress(every_s=cfg.progress_every_s)]
    best = BestWeights(cfg.monitor)
    stopping = [EarlyStopping(cfg.monitor, mode=MODES[cfg.monitor], patience=cfg.patience)] if cfg.patience else []
    return [best, *stopping, Progress(best, cfg.progress_every_s)]


{% if cookiecutter.scale_out -%}
def fit(network, train: tuple, validation: tuple, cfg: TrainingConfig, seed: int, group: Rendezvous | None = None):
    """Fit `network` in place on (x, y) arrays and leave it holding the best epoch's weights (by `cfg.monitor` on the
    validation split; the last epoch's without one). Epochs are counted from 1, as the progress lines show them.
    `group`: this process is one rank of a data-parallel training (training.nodes > 1), on its shard of the batches.
    Returns the per-epoch history, the device, precision and CPU threads used, best_epoch, epochs_run,
    stopped_early, best_value and throughput (and `nodes` with a group)."""
{%- else -%}
def fit(network, train: tuple, validation: tuple, cfg: TrainingConfig, seed: int):
    """Fit `network` in place on (x, y) arrays and leave it holding the best epoch's weights (by `cfg.monitor` on the
    validation split; the last epoch's without one). Epochs are counted from 1, as the progress lines show them.
    Returns the per-epoch history, the device, precision and CPU threads used, best_epoch, epochs_run,
    stopped_early, best_value and throughput."""
{%- endif %}
    import time

    import lightning.pytorch as pl
    import torch

    from .classifier import Classifier

    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    seed_everything(seed)  # again: the data order and dropout masks start from the seed too
    accelerator, precision = resolve_device(cfg)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    log.info("training on %s with precision %s, %d CPU threads", accelerator, precision, torch.get_num_threads())
    pin = accelerator == "gpu"
    has_val = len(validation[1]) > 0
    if not has_val:  # split.validation_size 0, by choice: Lightning's warning about the unused validation_step is noise
        warnings.filterwarnings("ignore", ".*but have no `val_dataloader`.*")
        if cfg.patience:
            log.info("no validation split: early stopping is off and the last epoch is kept")
    callbacks = _callbacks(cfg, has_val)
{%- if cookiecutter.scale_out %}
    if group:
        logging.getLogger("lightning.fabric").setLevel(logging.WARNING)
        warnings.filterwarnings("ignore", ".*sync_dist=True.*")  # Classifier sums its epoch metrics over the ranks
        where = f"{group.main_address}:{group.main_port}"
        log.info("rank %d of %d nodes, meeting at %s", group.node_rank, group.num_nodes, where)
{%- endif %}
    trainer = pl.Trainer(
        max_epochs=cfg.max_epochs,
        accelerator=accelerator,
        devices=1,
        precision=precision,
        deterministic=accelerator == "cpu" or "warn",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,  # our progress lines, the same on a terminal and in a step's log (callbacks.py)
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=callbacks,
{%- if cookiecutter.scale_out %}
        **(trainer_arguments(group, accelerator, cfg.meet_timeout_s) if group else {}),
{%- endif %}
    )
    start = time.perf_counter()
{%- if cookiecutter.scale_out %}
    unmet = (torch.distributed.DistStoreError, torch.distributed.DistNetworkError) if group else ()
    try:
        trainer.fit(
            Classifier(network, cfg.learning_rate, cfg.weight_decay, cfg.warmup_ratio),
            _loader(*train, cfg.batch_size, True, seed, pin),
            _loader(*validation, cfg.batch_size, False, seed, pin) if has_val else None,
        )
    except unmet as err:  # the rendezvous: the process group's store never saw every rank
        raise RanksMissing(
            f"rank {group.node_rank} of {group.num_nodes} waited {cfg.meet_timeout_s} s at {where} for the others "
            f"({err}); check that every node started and can reach {where}"
        ) from None
{%- else %}
    trainer.fit(
        Classifier(network, cfg.learning_rate, cfg.weight_decay, cfg.warmup_ratio),
        _loader(*train, cfg.batch_size, True, seed, pin),
        _loader(*validation, cfg.batch_size, False, seed, pin) if has_val else None,
    )
{%- endif %}
    seconds = time.perf_counter() - start
    history, best = callbacks[-1].history, callbacks[-1].best
    samples = len(train[1]) * len(history)
    log.info("trained %d samples in %.1f s (%.0f samples/s)", samples, seconds, samples / seconds)
{%- if cookiecutter.scale_out %}
    return ({"nodes": group.num_nodes} if group else {}) | {
{%- else %}
    return {
{%- endif %}
        "history": history,
        "accelerator": accelerator,
        "precision": precision,
        "threads": torch.get_num_threads(),
        "monitor": cfg.monitor if best else None,
        "best_epoch": best.epoch if best and best.epoch else len(history),  # counted from 1
        "best_value": best.value if best else None,
        "epochs_run": len(history),
        "stopped_early": len(history) < cfg.max_epochs,
        "seconds": seconds,
        "samples_per_second": samples / seconds,
    }


def summary(result: dict) -> str:
    """`kept epoch 4 of 7 (val_loss 0.3991), stopped early`: which weights ship, and how training ended."""
    value = f" ({result['monitor']} {result['best_value']:.4f})" if result["best_value"] is not None else ""
    how = "stopped early" if result["stopped_early"] else "ran max_epochs"
    return f"kept epoch {result['best_epoch']} of {result['epochs_run']}{value}, {how}"


def weights_to_bytes(network) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in network.state_dict().items()}, buffer)
    return buffer.getvalue()


def load_weights(network, blob: bytes):
    import torch

    network.load_state_dict(torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True))
    return network.eval()
