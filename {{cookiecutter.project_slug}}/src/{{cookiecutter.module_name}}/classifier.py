"""The LightningModule: any torch network that maps a batch of inputs to class logits, trained with cross-entropy."""

import pytorch_lightning as pl
import torch
import torch.nn.functional as F


class Classifier(pl.LightningModule):
    def __init__(self, network: torch.nn.Module, learning_rate: float, weight_decay: float):
        super().__init__()
        self.network = network
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay

    def forward(self, x):
        return self.network(x)

    def _step(self, batch, stage: str):
        x, y = batch
        logits = self(x)
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
        return torch.optim.AdamW(self.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
