"""Prefetched batches: the same batches as the sequential source, made a step ahead."""

import functools
import shutil
import threading

import pytest
import torch
from tiny_runs import SAMPLED

from prodvae.data import get_dataset
from prodvae.train import loop, read_metrics, train
from prodvae.train.batches import Batch, PairBatches, RenderedBatches, Shard
from prodvae.train.feed import make_batches
from prodvae.train.prefetch import Prefetched

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def sprites():
    """Big enough images that rendering splits its kernels between intra-op threads."""
    return get_dataset("sprites", image_size=64)


def _assert_same(a: Batch, b: Batch) -> None:
    assert torch.equal(a.x, b.x)
    if a.labels is None or b.labels is None:
        assert a.labels is None and b.labels is None
    else:
        torch.testing.assert_close(a.labels, b.labels, rtol=0, atol=0, equal_nan=True)
    if a.changed is None or b.changed is None:
        assert a.changed is None and b.changed is None
    else:
        assert torch.equal(a.changed, b.changed)


class Recording:
    """A source that notes which thread asked for which step."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []

    def batch(self, step: int) -> Batch:
        self.calls.append((step, threading.current_thread().name))
        return Batch(torch.full((1,), float(step)), None)


@pytest.mark.parametrize("kind", ["rendered", "labelled", "pairs"])
def test_prefetched_batches_equal_the_sequential_ones_bit_for_bit(kind, sprites):
    shard = Shard(0, 1, 32)
    if kind == "pairs":
        torus = get_dataset("torus", image_size=64, factor_sizes=(6, 5))
        source = PairBatches(torus, shard, 5, CPU, num_changed=None)
    else:
        fraction = 0.5 if kind == "labelled" else None
        source = RenderedBatches(sprites, shard, 5, CPU, label_fraction=fraction)
    prefetched = Prefetched(source, num_steps=12)
    try:
        # in order, then a jump back (a resume) and forward past the prefetched step
        for step in [*range(6), 2, 3, 9, 11]:
            _assert_same(prefetched.batch(step), source.batch(step))
    finally:
        prefetched.close()


def test_prefetching_leaves_the_global_rng_alone(sprites):
    """The checkpoint saves the global RNG (posterior noise): the thread must not move it."""
    source = RenderedBatches(sprites, Shard(0, 1, 16), 0, CPU, label_fraction=0.5)
    prefetched = Prefetched(source, num_steps=10)
    try:
        torch.manual_seed(123)
        before = torch.get_rng_state()
        for step in range(4):
            prefetched.batch(step)
        prefetched.batch(4)
    finally:
        prefetched.close()  # waits for the prefetch of step 5
    assert torch.equal(torch.get_rng_state(), before)


def test_one_step_ahead_on_one_thread_never_past_the_last_step():
    source = Recording()
    prefetched = Prefetched(source, num_steps=4)
    try:
        assert [float(prefetched.batch(step).x) for step in range(4)] == [0.0, 1.0, 2.0, 3.0]
    finally:
        prefetched.close()
    assert [step for step, _ in source.calls] == [0, 1, 2, 3]  # nothing made past step 3
    assert {name for _, name in source.calls} == {"prodvae-batches_0"}


def test_a_step_other_than_the_prefetched_one_is_made_on_demand():
    source = Recording()
    prefetched = Prefetched(source, num_steps=100)
    try:
        assert float(prefetched.batch(10).x) == 10.0
        assert float(prefetched.batch(3).x) == 3.0  # step 11 was in flight or cancelled
        assert float(prefetched.batch(4).x) == 4.0
    finally:
        prefetched.close()
    steps = [step for step, _ in source.calls]
    # 11 and 5 were prefetched: each is made unless cancelled (by the jump back, by close())
    # before it began; the steps asked for are made once each, in order
    assert [step for step in steps if step not in (11, 5)] == [10, 3, 4]
    assert steps in ([10, 3, 4], [10, 11, 3, 4], [10, 3, 4, 5], [10, 11, 3, 4, 5])


def test_the_thread_has_its_own_thread_count_and_the_callers_is_unchanged():
    own = torch.get_num_threads()
    seen = []
    prefetched = Prefetched(Recording(), num_steps=3, num_threads=1)
    try:
        prefetched._executor.submit(lambda: seen.append(torch.get_num_threads())).result()
        later = []
        thread = threading.Thread(target=lambda: later.append(torch.get_num_threads()))
        thread.start()
        thread.join()
    finally:
        prefetched.close()
    assert seen == [1] and torch.get_num_threads() == own and later == [own]


def test_close_stops_the_thread():
    prefetched = Prefetched(Recording(), num_steps=10)
    prefetched.batch(0)
    prefetched.close()
    assert not any(t.name.startswith("prodvae-batches") and t.is_alive() for t in _threads())
    with pytest.raises(RuntimeError):
        prefetched.batch(1)


def test_a_dropped_source_ends_its_thread():
    prefetched = Prefetched(Recording(), num_steps=10)
    prefetched.batch(0)
    thread = next(t for t in _threads() if t.name.startswith("prodvae-batches"))
    del prefetched
    thread.join(timeout=10)
    assert not thread.is_alive()


def _threads():
    return threading.enumerate()


def test_make_batches_prefetches_rendered_and_paired_batches_on_the_cpu(sprites):
    common = dict(num_changed=1, label_fraction=0.1, num_workers=0, num_steps=3, seed=0)
    shard = Shard(0, 1, 4)
    for needs_pairs in (False, True):
        source = make_batches(
            sprites,
            shard,
            CPU,
            needs_pairs=needs_pairs,
            needs_labels=False,
            hold_on_device="auto",
            **common,
        )
        assert isinstance(source, Prefetched)
        assert isinstance(source.source, PairBatches if needs_pairs else RenderedBatches)
        source.close()
    sequential = make_batches(
        sprites,
        shard,
        CPU,
        needs_pairs=False,
        needs_labels=False,
        hold_on_device="auto",
        prefetch=False,
        **common,
    )
    assert isinstance(sequential, RenderedBatches)


def _losses(run_dir):
    return [(line["step"], line["loss"]) for line in read_metrics(run_dir) if "loss" in line]


def test_training_on_prefetched_batches_equals_sequential_training_and_resumes_exactly(
    tiny_config, tmp_path, monkeypatch, sampled_losses
):
    """``sampled_losses``: an uninterrupted run, prefetched (the torus renders on the CPU)."""
    made = []

    def spy(*args, **kwargs):
        made.append(make_batches(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(loop, "make_batches", spy)
    # the step-3 checkpoint is written while the thread makes the batch of step 4
    whole = train(tiny_config(*SAMPLED), tmp_path / "run")
    assert _losses(whole.run_dir) == sampled_losses
    shutil.rmtree(whole.run_dir / "checkpoints" / "step_00000006")
    resumed = train(tiny_config(*SAMPLED), whole.run_dir, resume=True)
    assert _losses(resumed.run_dir) == sampled_losses
    assert len(made) == 2 and all(isinstance(source, Prefetched) for source in made)

    monkeypatch.setattr(loop, "make_batches", functools.partial(make_batches, prefetch=False))
    plain = train(tiny_config(*SAMPLED), tmp_path / "plain")
    assert _losses(plain.run_dir) == sampled_losses
