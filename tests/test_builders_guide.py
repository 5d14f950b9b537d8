"""Chapter 6 of the 1.0 edition (Builders' Guide): what its cells ask of d2lx, on every backend."""

from __future__ import annotations


def test_book_gpu_cells_replace_trainer_init_and_prepare_batch(backend, monkeypatch):
    """Section 6.7 adds its own ``Trainer.__init__`` and ``prepare_batch`` with ``@d2l.add_to_class``.

    d2lx's trainer must keep training with them (its budget and options fall back to class
    defaults), on the CPU where there is no GPU: the book keeps ``min(num_gpus, d2l.num_gpus())``.
    """
    d2l = backend
    for name in ("__init__", "prepare_batch"):
        monkeypatch.setattr(d2l.Trainer, name, getattr(d2l.Trainer, name))  # undone after the test

    # The book's cells, as written for PyTorch, MXNet and JAX.
    @d2l.add_to_class(d2l.Trainer)
    def __init__(self, max_epochs, num_gpus=0, gradient_clip_val=0):
        self.save_hyperparameters()
        self.gpus = [d2l.gpu(i) for i in range(min(num_gpus, d2l.num_gpus()))]

    @d2l.add_to_class(d2l.Trainer)
    def prepare_batch(self, batch):
        if self.gpus:
            batch = [d2l.to(a, self.gpus[0]) for a in batch]
        return batch

    trainer = d2l.Trainer(max_epochs=2, num_gpus=d2l.num_gpus() + 1)
    assert len(trainer.gpus) == d2l.num_gpus()
    data = d2l.SyntheticRegressionData(w=d2l.tensor([2.0, -3.4]), b=4.2, num_train=64, num_val=32)
    model = d2l.LinearRegression(lr=0.03)
    trainer.fit(model, data)
    assert trainer.train_batch_idx == 2 * 2 and trainer.val_batch_idx == 2 * 1
    losses = [p.y for p in model.board.data["train_loss"]]
    assert losses[-1] < losses[0]


def test_try_gpu_gives_a_device_to_use_even_beyond_the_gpus_there_are(backend):
    """Section 6.7 puts tensors on ``try_gpu(i)`` and moves batches with ``d2l.to``; without that GPU, the CPU."""
    d2l = backend
    x = d2l.tensor([1.0, 2.0])
    devices = [d2l.cpu(), d2l.try_gpu(), d2l.try_gpu(d2l.num_gpus() + 10), *d2l.try_all_gpus()]
    for device in devices:
        assert d2l.numpy(d2l.to(x, device)).tolist() == [1.0, 2.0]
