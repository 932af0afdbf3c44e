"""The LightningModule: any torch network that maps a batch of inputs to class logits, trained with cross-entropy.

A batch is (*inputs, labels): one input tensor for tabular data, (input_ids, attention_mask) for text."""

import pytorch_lightning as pl
import torch
import torch.nn.functional as F


class Classifier(pl.LightningModule):
    def __init__(self, network: torch.nn.Module, learning_rate: float, weight_decay: float, warmup_ratio: float = 0.0):
        super().__init__()
        self.network = network
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.warmup_ratio = warmup_ratio

    def forward(self, *inputs):
        return self.network(*inputs)

    def _step(self, batch, stage: str):
        *inputs, y = batch
        logits = self(*inputs)
        loss = F.cross_entropy(logits, y)
        self.log(f"{stage}_loss", loss, on_epoch=True, on_step=False, batch_size=len(y))
        self.log(
            f"{stage}_accuracy",
            (logits.argmax(-1) == y).float().mean(),
            on_epoch=True,
            on_step=False,
            batch_size=len(y),
        )
        return loss

    def training_step(self, batch, _):
        return self._step(batch, "train")

    def validation_step(self, batch, _):
        self._step(batch, "val")

    def configure_optimizers(self):
        trainable = [p for p in self.parameters() if p.requires_grad]  # a frozen encoder is left out
        optimizer = torch.optim.AdamW(trainable, lr=self.learning_rate, weight_decay=self.weight_decay)
        if not self.warmup_ratio:
            return optimizer
        warmup = max(1, int(self.warmup_ratio * self.trainer.estimated_stepping_batches))
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / warmup))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}
