{% if cookiecutter.task == "tabular_regression" -%}
"""The LightningModule: any torch network that maps a batch of inputs to one value, trained on the squared error
(the target standardised by the task's encoder).
{%- else -%}
"""The LightningModule: any torch network that maps a batch of inputs to class logits, trained with cross-entropy.
{%- endif %}

A batch is (*inputs, labels): one input tensor for tabular data, (input_ids, attention_mask) for text."""

import lightning.pytorch as pl
import torch
import torch.nn.functional as F


class Classifier(pl.LightningModule):
    def __init__(self, network: torch.nn.Module, learning_rate: float, weight_decay: float, warmup_ratio: float = 0.0):
        super().__init__()
        self.network = network
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.warmup_ratio = warmup_ratio
        self.automatic_optimization = False  # training_step steps the optimizer itself, see there
        self._sums: dict[str, list] = {}  # stage -> [sum of losses, hits, rows] over the epoch so far

    def forward(self, *inputs):
        return self.network(*inputs)

    def _step(self, batch, stage: str):
        """Loss for backprop; the epoch's sums of loss and hits are kept as tensors and logged once per epoch, since
        each `self.log` costs about 2 ms on the CPU: a third of a small network's whole step when called per step.
        Plain sums rather than torchmetrics: its MeanMetric and Accuracy updates cost about 300 us a step, these
        about 40 us (docs/benchmarks.md)."""
        *inputs, y = batch
{%- if cookiecutter.task == "tabular_regression" %}
        loss = F.mse_loss(self(*inputs).squeeze(-1), y)
        sums = self._sums[stage]
        sums[0] += loss.detach() * len(y)
{%- else %}
        logits = self(*inputs)
        loss = F.cross_entropy(logits, y)
        sums = self._sums[stage]
        sums[0] += loss.detach() * len(y)
        sums[1] += (logits.detach().argmax(-1) == y).sum()
{%- endif %}
        sums[2] += len(y)
        return loss

    def _log_epoch(self, stage: str):
        loss, hits, count = self._sums[stage]
        if self.trainer.world_size > 1:  # data-parallel: sums over every rank's shard, so all keep the same epoch
            totals = torch.stack([loss, hits.to(loss.dtype), torch.tensor(float(count), device=loss.device)])
            loss, hits, count = self.trainer.strategy.reduce(totals, reduce_op="sum")
            count = int(count)
        if count:
            self.log(f"{stage}_loss", loss / count, on_epoch=True, on_step=False, batch_size=1)
{%- if cookiecutter.task != "tabular_regression" %}
            self.log(f"{stage}_accuracy", hits / count, on_epoch=True, on_step=False, batch_size=1)
{%- endif %}

    def _start_epoch(self, stage: str):
        self._sums[stage] = [torch.zeros((), device=self.device), torch.zeros((), device=self.device), 0]

    def on_train_epoch_start(self):
        self._start_epoch("train")

    def on_validation_epoch_start(self):
        self._start_epoch("val")

    def training_step(self, batch, batch_idx):
        """Lightning's manual optimization: the same zero_grad, backward, step and per-batch schedule as its automatic
        loop, without its closure and the hooks around it (5-11% more samples/s on the tabular MLP on the CPU,
        docs/benchmarks.md; the weights are bit for bit the same)."""
        optimizer = self.optimizers()
        loss = self._step(batch, "train")
        optimizer.zero_grad()
        self.manual_backward(loss)
        optimizer.step()
        if self.warmup_ratio:
            self.lr_schedulers().step()
        if batch_idx == self.trainer.num_training_batches - 1:  # logged here: callbacks read it at the epoch's end
            self._log_epoch("train")
        return loss

    def validation_step(self, batch, _):
        self._step(batch, "val")

    def on_validation_epoch_end(self):
        self._log_epoch("val")

    def configure_optimizers(self):
        trainable = [p for p in self.parameters() if p.requires_grad]  # a frozen encoder is left out
        optimizer = torch.optim.AdamW(trainable, lr=self.learning_rate, weight_decay=self.weight_decay)
        if not self.warmup_ratio:
            return optimizer
        warmup = max(1, int(self.warmup_ratio * self.trainer.estimated_stepping_batches))
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / warmup))
        return [optimizer], [schedule]  # stepped after every batch by training_step
