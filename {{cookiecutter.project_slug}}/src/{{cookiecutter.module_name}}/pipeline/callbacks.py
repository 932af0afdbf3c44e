"""Lightning callbacks of the training step: keep the best epoch's weights, and show progress inside each epoch and
each epoch as it ends."""

import logging
import time

import lightning.pytorch as pl
from lightning.pytorch.utilities.data import extract_batch_size

from ..config import MODES

log = logging.getLogger(__name__)
COLUMNS = ("train_loss", "val_loss", "val_accuracy")


class BestWeights(pl.Callback):
    """Copy the weights (in memory, on the CPU) whenever `monitor` improves, and load the best copy back when fitting
    ends, so the network that is returned, evaluated and shipped is the best epoch's rather than the last one's.
    "Improves" is judged as Lightning's EarlyStopping judges it (strictly better, no min_delta): both agree on the
    best epoch. Epochs are counted from 1."""

    def __init__(self, monitor: str):
        self.monitor, self.minimize = monitor, MODES[monitor] == "min"
        self.epoch, self.value, self.improved, self.state = 0, None, False, None

    def _better(self, current: float) -> bool:
        if current != current:  # NaN is never better
            return False
        return self.value is None or (current < self.value if self.minimize else current > self.value)

    def on_train_epoch_end(self, trainer, pl_module):
        current = trainer.callback_metrics.get(self.monitor)
        self.improved = current is not None and self._better(float(current))
        if self.improved:
            self.epoch, self.value = trainer.current_epoch + 1, float(current)
            self.state = {k: v.detach().to("cpu", copy=True) for k, v in pl_module.state_dict().items()}

    def on_fit_end(self, trainer, pl_module):
        if self.state is not None:
            pl_module.load_state_dict(self.state)


def epoch_line(epoch: int, max_epochs: int, metrics: dict, seconds: float, new_best: bool) -> str:
    """`epoch 3/15  train_loss 0.4123  val_loss 0.3991  val_accuracy 0.8120  1.2s  *` (`*`: a new best epoch)."""
    values = [f"{name} {metrics[name]:.4f}" for name in COLUMNS if name in metrics]
    return "  ".join([f"epoch {epoch}/{max_epochs}", *values, f"{seconds:.1f}s"] + (["*"] if new_best else []))


class Progress(pl.Callback):
    """Progress lines through the package's logger (plain lines on stdout, logs.py: Metaflow shows a step's stdout live
    and keeps it with the task; it is never a terminal, so Lightning's bar would never show): inside an epoch, one line
    each `every_s` seconds (samples/s, the epoch's ETA), none for an epoch shorter than that; one line per epoch as it
    ends; and the per-epoch metrics (`history`)."""

    def __init__(self, best: BestWeights | None = None, every_s: float = 10.0):
        self.best, self.every_s, self.history = best, every_s, []
        self.started = self.shown = 0.0
        self.samples = 0

    def on_train_epoch_start(self, trainer, pl_module):
        self.started = self.shown = time.perf_counter()
        self.samples = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.samples += extract_batch_size(batch) * trainer.world_size
        now = time.perf_counter()
        if now - self.shown < self.every_s or not trainer.is_global_zero:
            return
        self.shown, seconds, done, total = now, now - self.started, batch_idx + 1, trainer.num_training_batches
        eta = f"  ETA {seconds / done * (total - done):.0f}s" if total != float("inf") else ""
        head = f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}  batch {done}/{total}"
        log.info("%s  %.0f samples/s%s", head, self.samples / seconds, eta)

    def on_train_epoch_end(self, trainer, pl_module):  # after validation, and after BestWeights (listed before)
        metrics = {name: float(value) for name, value in trainer.callback_metrics.items()}
        self.history.append(metrics)
        seconds = time.perf_counter() - self.started
        new_best = self.best is not None and self.best.improved
        if trainer.is_global_zero:  # data-parallel ranks end each epoch with the same figures: one line, rank 0's
            log.info(epoch_line(trainer.current_epoch + 1, trainer.max_epochs, metrics, seconds, new_best))
