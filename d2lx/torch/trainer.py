"""``Trainer`` for PyTorch: one epoch of ``backward()`` and ``optim.step()``, devices, clipping."""

from __future__ import annotations

import torch

from d2lx.torch import devices
from d2lx.trainer import TrainerBase


class Trainer(TrainerBase):
    """``Trainer(max_epochs, num_gpus=0, gradient_clip_val=0)``; ``fit(model, data)`` trains."""

    _devices = devices

    def prepare_batch(self, batch):
        if self.gpus:
            batch = [a.to(self.gpus[0]) for a in batch]
        return batch

    def prepare_data(self, data):
        place = getattr(data, "_place", None)  # datasets resident in memory follow the model's device
        if place is not None:
            place(self.gpus[0] if self.gpus else torch.device("cpu"))
        super().prepare_data(data)

    def prepare_model(self, model):
        super().prepare_model(model)
        if self.gpus:
            model.to(self.gpus[0])

    def fit_epoch(self):
        self.model.train()
        for batch in self.train_dataloader:
            self._inspect_batch(batch, train=True)
            loss = self.model.training_step(self.prepare_batch(batch))
            self.optim.zero_grad()
            with torch.no_grad():
                loss.backward()
                if self.gradient_clip_val > 0:
                    self.clip_gradients(self.gradient_clip_val, self.model)
                self.optim.step()
            self.train_batch_idx += 1
        if self.val_dataloader is None:
            return
        self.model.eval()
        for batch in self.val_dataloader:
            self._inspect_batch(batch, train=False)
            with torch.no_grad():
                self.model.validation_step(self.prepare_batch(batch))
            self.val_batch_idx += 1

    def _parameter_arrays(self) -> list:
        return list(self.model.parameters())

    def clip_gradients(self, grad_clip_val, model):
        """Rescale all gradients together so that their joint norm is at most ``grad_clip_val``."""
        params = [p for p in model.parameters() if p.requires_grad and p.grad is not None]
        torch.nn.utils.clip_grad_norm_(params, grad_clip_val)
