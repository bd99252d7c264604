"""``predict`` on every core: the batch cut in parts, one part per core.

What it accelerates: ``PredictPlan.run`` (``folding.py``), the pass behind
``predict`` and ``evaluate``, on a batch of many images.

Why: on the whole batch, the BLAS splits each matrix product between its
threads, but the passes between the products - im2col, the bias + activation,
pooling - are serial Numba loops (``minicnn/_threads.py`` says why), so one
core works while the other waits, and at the end of every product one thread
waits for the other. Cut the batch in two and run each half through the whole
plan on a core of its own, with a one-thread BLAS: every pass, not only the
products, runs on both cores at once::

    whole batch:   core 0  im2col | product | bias+ReLU | pool | im2col | product ...
                   core 1    -    | product |     -     |  -   |   -    | product ...
    in parts:      core 0  images 0-15: im2col | product | bias+ReLU | pool | ...
                   core 1  images 16-31: im2col | product | bias+ReLU | pool | ...

In inference no image's output depends on another image of the batch, so the
parts' outputs, stacked, are the whole batch's outputs: the same sums of the
same products, row by row. To the bit where the BLAS gives a product's rows
the same bits whatever the other rows (OpenBLAS's SkylakeX kernel); some
kernels block a sum differently with the number of rows and threads, and
there the two differ in the last bits (OpenBLAS's Haswell kernel: up to
2.7e-7, relative, on the seed models; ``tests/test_fast_cores.py``).

A plan runs in parts only when every one of its steps may (``runs_in_parts``):
its inference forward keeps nothing that a second run of the same layer, at
the same time, could overwrite before it is read. A user's layer, a layer
with a forward hook (it sees the batch the user passed), or a kernel with a
parallel loop of its own (Numba's ``workqueue`` pool runs one parallel loop
at a time: ``DepthwiseConv2D``, the ``numba`` backend) keeps the whole batch
together. (Running the steps before such a layer in parts and the rest whole
was measured and not kept: for MobileNetV2 it split one convolution and then
copied its output together, no faster than whole.)
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import numba
import numpy as np

from .. import activations, config
from ..layers.activation_layers import Activation, LeakyReLU, ReLU, Softmax
from ..layers.base import Layer
from ..layers.conv2d import Conv2D
from ..layers.dense import Dense
from ..layers.dropout import Dropout
from ..layers.global_pooling import GlobalAveragePooling2D, GlobalMaxPooling2D
from ..layers.merge import Add, Concatenate
from ..layers.pooling import AveragePooling2D, MaxPooling2D
from ..layers.reshaping import Flatten, Reshape
from ..layers.zero_padding import ZeroPadding2D
from .folding import FoldedStep, PredictPlan
from .plan import TrainingPlan
from .steps import ActivationStep, BatchNormStep, ConvStep, PlainStep, Step

#: Fewer images than this in a part, and the batch runs whole: a part must
#: outweigh handing it to another thread (measured in docs/speed.md).
MIN_PART_IMAGES = 12

#: Layers run by their own plain ``forward`` (``PlainStep``) whose inference
#: forward returns what it computed, not something it keeps on itself
#: (the activation layers: see ``runs_in_parts``).
_PLAIN_LAYERS_SAFE_IN_PARTS = (
    MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D,
    Flatten, Reshape, Dropout, ZeroPadding2D, Add, Concatenate,
)

#: minicnn's own activation functions: each returns what it computed.
_ACTIVATIONS_SAFE_IN_PARTS = (activations.Linear, activations.ReLU, activations.LeakyReLU,
                              activations.Tanh, activations.Sigmoid, activations.Softmax)


def runs_in_parts(step: Step) -> bool:
    """May two threads run this step's inference forward at once, each on its own
    images? (Each part has its own steps; the layers and their weights are shared.)"""
    layer: Layer = step.layer
    if layer._hooks:
        return False                 # a hook sees the batch the user passed
    if isinstance(step, (ConvStep, FoldedStep)):
        if type(layer.activation) not in _ACTIVATIONS_SAFE_IN_PARTS:
            return False
        if type(layer) is Dense:
            return True
        # on "numba", and for the depthwise and transposed convolutions, the
        # kernels run parallel loops of their own
        return type(layer) is Conv2D and config.get_backend() == "im2col"
    if isinstance(step, (ActivationStep, BatchNormStep)):
        return True
    if isinstance(step, PlainStep):
        if type(layer) in (Activation, Softmax, ReLU, LeakyReLU):
            return type(layer.fn) in _ACTIVATIONS_SAFE_IN_PARTS
        return type(layer) in _PLAIN_LAYERS_SAFE_IN_PARTS
    return False


class _Blas:
    """The BLAS libraries NumPy calls, found once (threadpoolctl, as in
    ``minicnn.set_num_threads``), and their thread counts."""

    controllers: list | None = None

    @classmethod
    def libraries(cls) -> list:
        if cls.controllers is None:
            from threadpoolctl import ThreadpoolController
            cls.controllers = ThreadpoolController().select(user_api="blas").lib_controllers
        return cls.controllers

    @classmethod
    def threads(cls) -> int:
        return min((lib.num_threads for lib in cls.libraries()), default=1)


_busy = threading.Lock()            # one predict in parts at a time: they share the BLAS setting


class _AfterTraining:
    """Has a training step run since the last ``predict`` or ``evaluate`` call began?

    After a product on two threads, OpenBLAS's second thread spins for about
    100 ms, waiting for more work; a part handed to that core then shares it
    and takes about twice as long (measured in docs/speed.md). So a call that
    follows a training step runs whole, on the BLAS's threads, as it would
    without parts: a loop that alternates ``train_on_batch`` and ``predict``,
    or ``fit``'s validation pass, is as fast as before. The rule follows the
    calls, not a clock, so that a program gets the same bits every time it runs.
    """

    steps_seen = 0

    @classmethod
    def since_last_call(cls) -> bool:
        steps = TrainingPlan.steps_run
        trained, cls.steps_seen = steps != cls.steps_seen, steps
        return trained


_workers: ThreadPoolExecutor | None = None
_workers_pid = 0


def _pool() -> ThreadPoolExecutor:
    """The threads that run every part but the first: one per core beyond the caller's.

    Made again in a process forked from the one that made them: a fork copies
    the pool but not its threads, and a part handed to it would wait forever.
    """
    global _workers, _workers_pid
    if _workers is None or _workers_pid != os.getpid():
        _workers = ThreadPoolExecutor(max_workers=max(1, numba.config.NUMBA_NUM_THREADS - 1),
                                      thread_name_prefix="minicnn-part")
        _workers_pid = os.getpid()
    return _workers


class SplitPredictPlan:
    """A ``PredictPlan`` that runs a batch of many images in parts, one part per core.

    ``layers``, ``sources``, ``outputs``, ``images``: as for ``PredictPlan``
    (``images``, the whole call's, decides the folding, so that every part folds alike).
    """

    def __init__(self, layers: list[Layer], sources: list[list[int]], outputs: list[int],
                 images: int) -> None:
        self.whole = PredictPlan(layers, sources, outputs, images)
        every_step = all(runs_in_parts(step) for step, _, _ in self.whole.entries)
        #: the most parts a batch of this call runs in (1: always whole)
        self.cores = min(numba.get_num_threads(), _Blas.threads(), images // MIN_PART_IMAGES) \
            if every_step else 1
        if _AfterTraining.since_last_call() or self.cores < 1:
            self.cores = 1
        # one plan per part (each step keeps its own arrays; none is built for a call too
        # small to be cut); the first is the whole's
        self.part_plans = [self.whole] + [PredictPlan(layers, sources, outputs, images)
                                          for _ in range(self.cores - 1)]

    def parts_for(self, n_images: int) -> int:
        """How many parts a batch of ``n_images`` runs in (1: whole)."""
        return max(1, min(self.cores, n_images // MIN_PART_IMAGES))

    def run(self, x: np.ndarray) -> tuple[list[np.ndarray], np.ndarray | None]:
        """``PredictPlan.run`` on x, in parts when that pays: the same outputs and logits."""
        parts = self.parts_for(len(x))
        if parts == 1 or not _busy.acquire(blocking=False):
            return self.whole.run(x)
        try:
            results = self._run_parts(x, parts)
        finally:
            _busy.release()
        outputs = [np.concatenate(pieces) for pieces in zip(*(r[0] for r in results))]
        logits_parts = [r[1] for r in results]
        logits = None if any(v is None for v in logits_parts) else np.concatenate(logits_parts)
        return outputs, logits

    def _run_parts(self, x: np.ndarray, parts: int) -> list:
        """Each part's (outputs, logits), the first on this thread, the others on the
        worker threads, every one on a one-thread BLAS."""
        bounds = np.linspace(0, len(x), parts + 1).round().astype(int)

        def part(i: int):
            return self.part_plans[i].run(x[bounds[i]:bounds[i + 1]])

        libraries = _Blas.libraries()
        before = [lib.num_threads for lib in libraries]
        for lib in libraries:
            lib.set_num_threads(1)
        futures: list[Future] = []
        try:
            futures = [_pool().submit(part, i) for i in range(1, parts)]
            first = part(0)
            return [first] + [f.result() for f in futures]
        finally:
            for f in futures:
                f.exception()        # every part done before the BLAS gets its threads back
            for lib, n in zip(libraries, before):
                lib.set_num_threads(n)
