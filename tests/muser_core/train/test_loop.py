"""The training loop: epoch size (paper 5.1), a stop honoured after the batch, the state it leaves."""

from __future__ import annotations

import io
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import StopAtBatch, synthetic_corpus, timeless

from muser_core.base.errors import InputError
from muser_core.config import DataConfig, RunConfig, StrategyConfig, TrainConfig
from muser_core.train import Callback, Trainer, build
from muser_core.train.loop import EpochInProgress


def config(corpus: str, **train) -> RunConfig:
    return RunConfig(data=DataConfig(corpus=corpus, tasks=["stress", "activation", "valence"]),
                     strategy=StrategyConfig(name="speed", history=1),
                     train=TrainConfig(**{"max_epochs": 6, "patience": 50, **train}))


class Recorder(Callback):
    def __init__(self):
        self.batches = []

    def on_batch_end(self, trainer, task, idx, loss):
        self.batches.append((task, len(idx)))


def test_epoch_draws_until_the_main_training_size(tmp_path):
    corpus = synthetic_corpus()
    table = corpus.table
    # valence keeps only 20 training labels: its batches hold 20 items.
    keep = table.index[(table["split"] == "train")][:20].tolist() + table.index[table["split"] != "train"].tolist()
    table.loc[~table.index.isin(keep), "valence"] = np.nan
    corpus.save(tmp_path / "c.csv")
    cfg, data, model, device, strategy = build(config(str(tmp_path / "c.csv")))
    recorder = Recorder()
    trainer = Trainer(model, data, strategy, cfg, [recorder])
    n_main = len(data.tasks["stress"].splits["train"])
    assert n_main == trainer.epoch_size == 210 and len(data.tasks["valence"].splits["train"]) == 20
    for _ in range(5):
        recorder.batches.clear()
        epoch = EpochInProgress(1, {"stress": 0.2, "activation": 0.2, "valence": 0.6})
        trainer.train_epoch(epoch)
        drawn = sum(n for _, n in recorder.batches)
        assert epoch.drawn == drawn and drawn >= n_main and drawn - recorder.batches[-1][1] < n_main
        assert sum(len(v) for v in epoch.losses.values()) == len(recorder.batches)
        assert all(n == (20 if task == "valence" else 32) for task, n in recorder.batches)
    only_stress = EpochInProgress(1, {"stress": 1.0, "activation": 0.0, "valence": 0.0})
    trainer.train_epoch(only_stress)
    assert {t: len(v) for t, v in only_stress.losses.items()} == {"stress": math.ceil(210 / 32)}






@pytest.mark.parametrize("stop_batch", [1, 10, 21])  # inside epochs 1 and 2, and on an epoch's last batch
def test_a_stop_mid_epoch_continues_exactly_from_the_state_dict(tmp_path, stop_batch):
    synthetic_corpus().save(tmp_path / "c.csv")
    cfg = config(str(tmp_path / "c.csv"))

    def trainer(*callbacks):
        built, data, model, device, strategy = build(cfg)
        return Trainer(model, data, strategy, built, list(callbacks), device)

    straight = trainer()
    straight.fit()
    stopped = trainer(StopAtBatch(stop_batch))
    stopped.fit()
    assert stopped.stopped and stopped.current is not None and stopped.epochs_done < 6
    weights = {k: v.clone() for k, v in stopped.model.state_dict().items()}
    state = stopped.state_dict()
    resumed = trainer()
    if stopped.best_epoch is not None:  # without the best weights, the end of training refuses to go on
        blind = trainer()
        blind.load_state_dict(state)
        blind.cfg = replace(blind.cfg, train=replace(blind.cfg.train, max_epochs=blind.epochs_done))  # ends here
        with pytest.raises(InputError, match=f"the best weights of epoch {stopped.best_epoch} are missing"):
            blind.fit()
    resumed.load_state_dict(state, best_state=stopped.best_state)  # the run folder's checkpoint holds these
    # The state holds the weights at the stop, not the best epoch's (the defect of the old stop path).
    assert all(torch.equal(resumed.model.state_dict()[k], v) for k, v in weights.items())
    resumed.fit()
    assert not resumed.stopped and timeless(resumed.records) == timeless(straight.records)
    assert resumed.best_epoch == straight.best_epoch
    assert resumed.evaluate("test") == straight.evaluate("test")


class StateAtEpochEnd(Callback):
    """The resume state as the run folder writer saves it at the end of an epoch (a kill may follow at once)."""

    def __init__(self, epoch: int):
        self.epoch, self.state, self.best = epoch, None, {}

    def on_epoch_end(self, trainer, record):
        if record["epoch"] == self.epoch:  # through bytes, as it goes to disk: the tensors train on afterwards
            buffer = io.BytesIO()
            torch.save(trainer.state_dict(), buffer)
            buffer.seek(0)
            self.state = torch.load(buffer, weights_only=True)
            self.best = {k: v.clone() for k, v in trainer.best_state.items()}  # as the checkpoint holds them


def test_a_state_saved_at_an_epochs_end_continues_exactly(tmp_path):
    """Found by the Ray kill test: that state still carried the finished epoch as 'in progress', and a resume
    evaluated it again as a second epoch 3."""
    synthetic_corpus().save(tmp_path / "c.csv")
    cfg = config(str(tmp_path / "c.csv"))

    def trainer(*callbacks):
        built, data, model, device, strategy = build(cfg)
        return Trainer(model, data, strategy, built, list(callbacks), device)

    straight, saver = trainer(), StateAtEpochEnd(3)
    straight.callbacks.append(saver)
    straight.fit()
    resumed = trainer()
    resumed.load_state_dict(saver.state, best_state=saver.best)
    resumed.fit()
    assert [r["epoch"] for r in resumed.records] == list(range(7))
    assert timeless(resumed.records) == timeless(straight.records)


def test_length_buckets_sort_runs_of_batches_and_keep_every_item():
    """--length-buckets: each run of B batches of the shuffled order holds the same items, sorted into batches of
    similar length, drawn in a seeded order; the tail (never reached before a reshuffle) is left as shuffled."""
    from muser_core.train.loop import TaskStream, bucketed

    rng = np.random.default_rng(0)
    lengths = torch.from_numpy(rng.integers(5, 120, 200))
    order = torch.from_numpy(rng.permutation(200))
    k, runs = 8, 5
    out = bucketed(order, lengths, k, runs, np.random.default_rng(1))
    usable = 200 // k * k
    assert torch.equal(out[usable:], order[usable:])
    for start in range(0, usable, k * runs):
        block, mine = order[start:start + k * runs], out[start:start + k * runs]
        assert sorted(block.tolist()) == sorted(mine.tolist())
        batches = mine.view(-1, k)
        # Sorted within the run: a batch's lengths never interleave with another batch's.
        spans = sorted((int(lengths[b].min()), int(lengths[b].max())) for b in batches)
        assert all(hi <= nxt_lo for (_, hi), (nxt_lo, _) in zip(spans, spans[1:], strict=False))
    padded = lambda o: sum(int(lengths[o[i:i + k]].max()) for i in range(0, usable, k))  # noqa: E731
    assert padded(out) < 0.8 * padded(order)
    # The same generator state gives the same order (resume), and the stream uses it on each reshuffle.
    assert torch.equal(out, bucketed(order, lengths, k, runs, np.random.default_rng(1)))
    stream = TaskStream(torch.arange(200), lengths, runs)
    first = stream.take(k, np.random.default_rng(2))
    g = np.random.default_rng(2)
    expected = bucketed(torch.from_numpy(g.permutation(200)), lengths, k, runs, g)
    assert torch.equal(stream.order, expected) and torch.equal(first, expected[:k])


class FakeClock:
    """The loop's clock: each step takes 10 s on a task's first batch, 1 s after it."""

    def __init__(self):
        self.now, self.seen = 0.0, set()

    def perf_counter(self) -> float:
        return self.now

    def step_taken(self, task: str) -> None:
        self.now += 1.0 if task in self.seen else 10.0
        self.seen.add(task)


def test_measured_speed_leaves_out_each_tasks_first_batch(tmp_path, monkeypatch):
    """A run's items/s (status.json, the progress line) is the speed of warm batches, as the Train page's timing
    measures it: each task's first batch in a process pays one-off costs and would drag the figure down."""
    import muser_core.train.loop as loop

    synthetic_corpus().save(tmp_path / "c.csv")
    cfg, data, model, device, strategy = build(config(str(tmp_path / "c.csv")))
    recorder = Recorder()
    trainer = Trainer(model, data, strategy, cfg, [recorder])
    clock, step = FakeClock(), Trainer.step

    def timed_step(self, task, idx):
        loss = step(self, task, idx)
        clock.step_taken(task)
        return loss

    monkeypatch.setattr(loop, "time", clock)
    monkeypatch.setattr(Trainer, "step", timed_step)
    epoch = EpochInProgress(1, {"stress": 0.4, "activation": 0.3, "valence": 0.3})
    trainer.train_epoch(epoch)
    tasks = [task for task, _ in recorder.batches]
    first = {tasks.index(t) for t in set(tasks)}
    warm = [n for i, (_, n) in enumerate(recorder.batches) if i not in first]
    assert len(first) == 3 and warm
    assert trainer.samples_per_second == pytest.approx(sum(warm) / len(warm))   # 1 s a warm batch
    assert epoch.seconds == pytest.approx(10.0 * 3 + len(warm))                  # the epoch's time keeps all
