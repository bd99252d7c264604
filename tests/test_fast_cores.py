"""predict in parts, one per core (minicnn/fast/cores.py): the whole batch's bits, the BLAS left as found."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

import minicnn
from minicnn import activations, layers, zoo
from minicnn.fast import cores
from minicnn.fast.cores import SplitPredictPlan, runs_in_parts
from minicnn.fast.folding import PredictPlan
from minicnn.fast.plan import TrainingPlan


def _plans(model, images):
    args = (model._layers, model._sources(), model._output_indices(), images)
    return SplitPredictPlan(*args), PredictPlan(*args)


def _blas_rows_keep_their_bits() -> bool:
    """Does this machine's BLAS give a product's rows the same bits when handed half
    the rows on one thread? (OpenBLAS's SkylakeX kernel does; its Haswell kernel
    blocks the sums differently with the number of rows and threads.)"""
    from threadpoolctl import threadpool_limits
    gen = np.random.default_rng(0)
    a = gen.standard_normal((64, 1152)).astype(np.float32)
    b = gen.standard_normal((1152, 128)).astype(np.float32)
    whole = a @ b
    with threadpool_limits(1, user_api="blas"):
        halves = np.concatenate([a[:32] @ b, a[32:] @ b])
    return np.array_equal(halves, whole)


def assert_same_outputs(a: np.ndarray, b: np.ndarray) -> None:
    """The parts' outputs are the whole batch's: to the bit where the BLAS keeps a row's
    bits whatever the other rows (see above); else to float32 rounding: the seed
    models' outputs, 20 batches each, differ by at most 2.7e-7 (relative norm) with
    OpenBLAS's Haswell kernel."""
    if _blas_rows_keep_their_bits():
        assert np.array_equal(a, b)
    else:
        diff = np.linalg.norm(a.astype(np.float64) - b) / np.linalg.norm(b.astype(np.float64))
        assert diff <= 1e-6, diff


def _worker_runs(split: SplitPredictPlan) -> list[str]:
    """Record the thread that runs each part plan but the first."""
    names: list[str] = []
    for plan in split.part_plans[1:]:
        run = plan.run

        def recorded(*args, _run=run, **kwargs):
            names.append(threading.current_thread().name)
            return _run(*args, **kwargs)
        plan.run = recorded
    return names


@pytest.fixture
def two_cores(monkeypatch):
    """Parts as on a 2-core machine, on whatever machine runs the tests."""
    monkeypatch.setattr(cores.numba, "get_num_threads", lambda: 2)
    monkeypatch.setattr(cores._Blas, "threads", classmethod(lambda cls: 2))
    # as if no training step had run since the last predict (the tests before may have trained)
    monkeypatch.setattr(cores._AfterTraining, "steps_seen", TrainingPlan.steps_run)


def _seed_model(name):
    minicnn.set_seed(0)
    model = zoo.mnist_cnn(seed=0) if name == "kconv" else zoo.cifar10_cnn(seed=0)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    if name == "cifar_cnn":              # moving statistics away from 0 and 1, so folding shows
        rng = np.random.default_rng(1)
        for layer in model._layers:
            if isinstance(layer, layers.BatchNormalization):
                layer.moving_mean.value[...] = rng.normal(0, 0.5, layer.moving_mean.value.shape)
                layer.moving_variance.value[...] = rng.uniform(0.5, 2, layer.moving_variance.value.shape)
    return model


@pytest.mark.parametrize("name", ["kconv", "cifar_cnn"])
def test_the_seed_models_predict_the_whole_batch_bits_in_parts(name, two_cores, rng):
    model = _seed_model(name)
    shape = (28, 28, 1) if name == "kconv" else (32, 32, 3)
    x = rng.random((32,) + shape, dtype=np.float32)
    split, whole = _plans(model, 32)
    assert split.cores == 2                                  # every step of these models runs in parts
    workers = _worker_runs(split)
    (out,), logits = split.run(x)
    (expected,), expected_logits = whole.run(x)
    assert workers and all(w.startswith("minicnn-part") for w in workers)
    assert_same_outputs(out, expected)
    assert (logits is None) == (expected_logits is None)
    if logits is not None:
        assert_same_outputs(logits, expected_logits)


def test_predict_and_evaluate_use_the_parts(two_cores, rng, monkeypatch):
    model = _seed_model("kconv")
    x = rng.random((48, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 48)
    assert cores.MIN_PART_IMAGES <= 12          # so that a batch of 24 runs in 2 parts of 12
    parts_seen = []
    real = SplitPredictPlan._run_parts
    monkeypatch.setattr(SplitPredictPlan, "_run_parts",
                        lambda self, x, parts: parts_seen.append(parts) or real(self, x, parts))
    split_out = model.predict(x, batch_size=24, verbose=0)
    split_eval = model.evaluate(x, y, batch_size=24, verbose=0)
    assert parts_seen == [2, 2, 2, 2]
    monkeypatch.setattr(cores, "MIN_PART_IMAGES", 10**6)
    assert_same_outputs(model.predict(x, batch_size=24, verbose=0), split_out)
    assert model.evaluate(x, y, batch_size=24, verbose=0) == pytest.approx(split_eval, rel=1e-6)
    assert parts_seen == [2, 2, 2, 2]


def test_a_call_after_a_training_step_runs_whole_and_the_next_in_parts(two_cores, rng, monkeypatch):
    model = _seed_model("kconv")
    x = rng.random((32, 28, 28, 1), dtype=np.float32)
    parts_seen = []
    real = SplitPredictPlan._run_parts
    monkeypatch.setattr(SplitPredictPlan, "_run_parts",
                        lambda self, x, parts: parts_seen.append(parts) or real(self, x, parts))
    model.train_on_batch(x, rng.integers(0, 10, 32))
    after_training = model.predict(x, batch_size=16, verbose=0)     # two batches, both whole
    assert parts_seen == []
    model.predict(x, batch_size=32, verbose=0)
    assert parts_seen == [2]
    model.train_on_batch(x, rng.integers(0, 10, 32))
    model.evaluate(x, rng.integers(0, 10, 32), batch_size=32, verbose=0)
    assert parts_seen == [2]
    assert after_training.shape == (32, 10)


def test_few_images_run_whole(two_cores):
    split, _ = _plans(_seed_model("kconv"), 32)
    assert split.parts_for(2 * cores.MIN_PART_IMAGES - 1) == 1
    assert split.parts_for(2 * cores.MIN_PART_IMAGES) == 2
    assert split.parts_for(10_000) == 2                      # one part per core, no more
    # a call of too few images to be cut builds no second plan
    small, _ = _plans(_seed_model("kconv"), 2 * cores.MIN_PART_IMAGES - 1)
    assert len(small.part_plans) == 1 and small.parts_for(10_000) == 1


def test_one_thread_runs_whole(monkeypatch):
    monkeypatch.setattr(cores.numba, "get_num_threads", lambda: 1)
    split, _ = _plans(_seed_model("kconv"), 32)
    assert split.parts_for(10_000) == 1 and len(split.part_plans) == 1


def _graph_with(middle):
    """input -> conv -> (middle) -> two branches, added and concatenated -> two outputs."""
    inputs = layers.Input((8, 8, 3))
    a = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    a = middle(a)
    b = layers.MaxPool2D(2)(layers.Conv2D(4, 1)(a))
    c = layers.AveragePooling2D(2)(a)
    joined = layers.Concatenate()([layers.Add()([b, c]), c])
    out1 = layers.Dense(3, activation="softmax")(layers.Flatten()(joined))
    out2 = layers.GlobalAveragePooling2D()(a)
    return minicnn.Model(inputs, [out1, out2], seed=3)


class Doubling(layers.Layer):
    """A user's layer: minicnn cannot know what its forward keeps."""

    def forward(self, x, training=False):
        self.seen = x
        return self.seen * 2

    def backward(self, dy):
        return dy * 2


@pytest.mark.parametrize("middle, in_parts", [
    (lambda: layers.BatchNormalization(), True),
    (lambda: layers.Activation("tanh"), True),
    (lambda: Doubling(), False),
])
def test_a_graph_with_two_outputs_runs_in_parts_unless_a_step_may_not(middle, in_parts, two_cores, rng):
    model = _graph_with(middle())
    x = rng.random((24, 8, 8, 3), dtype=np.float32)
    split, whole = _plans(model, 24)
    assert split.parts_for(24) == (2 if in_parts else 1)
    workers = _worker_runs(split)
    outs, _ = split.run(x)
    expected, _ = whole.run(x)
    assert len(workers) == (1 if in_parts else 0)
    assert len(outs) == 2
    for a, b in zip(outs, expected):
        assert_same_outputs(a, b)


def test_a_hooked_layer_sees_the_whole_batch(two_cores, rng):
    model = _seed_model("kconv")
    seen = []
    model._layers[2].register_forward_hook(lambda layer, x, y: seen.append(len(x)))
    x = rng.random((32, 28, 28, 1), dtype=np.float32)
    split, whole = _plans(model, 32)
    assert split.parts_for(32) == 1
    (out,), _ = split.run(x)
    assert seen == [32]
    assert_same_outputs(out, whole.run(x)[0][0])


def test_which_steps_run_in_parts(two_cores):
    def first_step(layer, shape=(6, 6, 3)):
        model = minicnn.Sequential([layers.Input(shape), layer])
        return SplitPredictPlan(model._layers, model._sources(), model._output_indices(), 32).whole.entries[0][0]

    assert runs_in_parts(first_step(layers.Conv2D(2, 3)))
    assert runs_in_parts(first_step(layers.Conv2D(2, 3, activation="sigmoid")))
    assert runs_in_parts(first_step(layers.MaxPool2D()))
    # the depthwise and transposed convolutions run parallel Numba loops of their own
    assert not runs_in_parts(first_step(layers.DepthwiseConv2D(3)))
    assert not runs_in_parts(first_step(layers.Conv2DTranspose(2, 3)))

    class Mine(activations.ActivationFn):
        name = "mine"

        def forward(self, x):
            return x

    assert not runs_in_parts(first_step(layers.Conv2D(2, 3, activation=Mine())))
    assert not runs_in_parts(first_step(layers.Activation(Mine())))
    minicnn.set_backend("numba")
    try:
        assert not runs_in_parts(first_step(layers.Conv2D(2, 3)))
    finally:
        minicnn.set_backend("im2col")


def test_the_blas_threads_come_back_after_parts_and_after_an_error(two_cores, rng, monkeypatch):
    calls = []

    class FakeBlas:
        num_threads = 2

        def set_num_threads(self, n):
            calls.append(n)
            self.num_threads = n

    fake = FakeBlas()
    monkeypatch.setattr(cores._Blas, "controllers", [fake])
    split, _ = _plans(_seed_model("kconv"), 32)
    split.run(rng.random((32, 28, 28, 1), dtype=np.float32))
    assert calls == [1, 2] and fake.num_threads == 2
    # a part that fails: the error reaches the caller, the BLAS has its threads back
    bad = split.part_plans[1]
    bad.run = lambda *args, **kwargs: (_ for _ in ()).throw(ValueError("part failed"))
    with pytest.raises(ValueError, match="part failed"):
        split.run(rng.random((32, 28, 28, 1), dtype=np.float32))
    assert calls == [1, 2, 1, 2] and fake.num_threads == 2


def test_two_predicts_at_once_each_get_their_own_answer(two_cores, rng):
    blas_threads = [lib.num_threads for lib in cores._Blas.libraries()]
    model = _seed_model("kconv")
    xs = [rng.random((64, 28, 28, 1), dtype=np.float32) for _ in range(4)]
    expected = [model.predict(x, batch_size=32, verbose=0) for x in xs]
    results: dict[int, np.ndarray] = {}

    def predict(i):
        for _ in range(5):
            results[i] = model.predict(xs[i], batch_size=32, verbose=0)
    threads = [threading.Thread(target=predict, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(4):
        assert_same_outputs(results[i], expected[i])
    # one predict in parts at a time (the others run whole): the BLAS ends as it began
    assert [lib.num_threads for lib in cores._Blas.libraries()] == blas_threads


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is a POSIX call")
def test_a_forked_process_predicts_in_parts_with_threads_of_its_own(two_cores, rng):
    """A fork copies the worker pool but not its threads: the child must make its own."""
    model = _seed_model("kconv")
    x = rng.random((32, 28, 28, 1), dtype=np.float32)
    expected = model.predict(x, batch_size=32, verbose=0)   # the pool exists in this process now
    assert cores._workers is not None
    pid = os.fork()
    if pid == 0:                                             # the child: exit 0 if it predicts right
        code = 1
        try:
            split, _ = _plans(model, 32)
            workers = _worker_runs(split)
            (out,), _ = split.run(x)
            code = 0 if workers and np.allclose(out, expected, rtol=1e-6) else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("the forked child's predict in parts did not finish in 60 s")
