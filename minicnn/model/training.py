"""Training: ``compile``, ``fit``, ``evaluate``, ``predict``, ``train_on_batch``.

One training step on a batch (x, y) is the whole story of backprop::

    y_pred = forward(x, training=True)          every layer keeps what it needs
    loss   = loss_fn(y, y_pred)                 mean over the batch
    dL/dy_pred -> backward through every layer  each layer fills Parameter.grad
    optimizer.apply(trainable weights)          the only place weights change

Keras's logits shortcut: when the last layer ends in the activation the loss
can fuse with (softmax for the categorical losses, sigmoid for binary) and
the loss is given probabilities, the loss is computed from that layer's
logits and backprop starts at the logits with dL/dz = (p - t) / N - exact,
and immune to the clipping of probabilities (see ``minicnn.losses``).
"""

from __future__ import annotations

import time
from typing import Callable, Iterable

import numpy as np

from .. import config, fast, losses, metrics as metrics_module, optimizers, regularizers
from ..callbacks import Callback, History, TerminateOnNaN
from ..errors import ConfigError, InputError, NonFiniteError, NotCompiledError
from . import nonfinite, validation
from .progress import ProgressBar

class TrainingMixin:
    """The Keras training API, for any model with ``forward``/``backward``."""

    def __init__(self) -> None:
        self.loss: losses.Loss | None = None
        self.optimizer: optimizers.Optimizer | None = None
        self.metrics: list[metrics_module.Metric] = []
        self.compiled = False
        self.stop_training = False
        self.history: History | None = None
        self.completed_epochs = 0  # saved in model files, so a resumed fit knows where it was
        # what it was trained on ({"dataset", "class_names", "image_folder"}), set by minicnn.train
        # and saved in model files, so that the views find the same kind of images
        self.data_info: dict | None = None
        self.jit_compile = True
        self._plan_cache: tuple | None = None

    # ------------------------------------------------------------------ setup
    def compile(self, loss, optimizer="rmsprop", metrics: Iterable | None = None,
                jit_compile: bool = True) -> None:
        """Choose the loss, the optimizer and the metrics (names or ``minicnn.metrics``
        objects: ``"accuracy"``, ``"top_k_categorical_accuracy"``, ``"precision"``...).

        ``jit_compile=True`` (the default) trains and predicts through the fast
        plan (``minicnn.fast``); ``False`` runs the plain layers one by one,
        exactly the code in ``minicnn/layers``. Both give the same numbers.
        """
        if not isinstance(jit_compile, bool):
            raise ConfigError(f"model {self.name!r}: jit_compile must be True or False, got {jit_compile!r}")
        self.loss = losses.get(loss)
        self.optimizer = optimizers.get(optimizer)
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise ConfigError(f"model {self.name!r}: metrics must be a list, got {type(metrics).__name__}")
        self.metrics = [metrics_module.get(m, self.loss, f"model {self.name!r}") for m in metrics or []]
        names = [m.name for m in self.metrics]
        if len(set(names)) != len(names):
            raise ConfigError(f"model {self.name!r}: metric names repeat: {names}")
        self.jit_compile = jit_compile
        self.compiled = True

    def _require_compiled(self) -> None:
        if not self.compiled:
            raise NotCompiledError(f"model {self.name!r} must be compiled before training or "
                                   "evaluating: call model.compile(loss=..., optimizer=...)")

    def _fuses_logits(self) -> bool:
        """Does Keras's logits shortcut apply (see the module docstring)?"""
        last = self._layers[-1]
        act = getattr(last, "activation", None)
        return (not self.loss.from_logits and act is not None
                and act.name == self.loss.fused_activation
                and getattr(act, "axis", -1) in (-1, len(last.output_shape)))

    def _loss_and_gradient(self, y, y_pred, logits, sample_weight=None):
        """Return ``(loss, dL/dy_pred, None)``, or with the logits shortcut
        ``(loss, None, dL/dlogits)``: where backprop starts. ``logits`` is the
        output layer's z from the same forward pass."""
        if self._fuses_logits():
            loss, dlogits = self.loss.value_and_grad_from_logits(y, logits, sample_weight)
            return loss, None, dlogits
        return (self.loss.value(y, y_pred, sample_weight), self.loss.gradient(y, y_pred, sample_weight),
                None)

    @property
    def metrics_names(self) -> list[str]:
        """``["loss", ...]``: the order of ``evaluate``'s list (Keras's ``metrics_names``)."""
        return ["loss"] + [m.name for m in self.metrics]

    # ------------------------------------------------------------------ one step
    def _uses_plan(self) -> bool:
        """Train and predict through ``minicnn.fast``? (Not with ``jit_compile=False``,
        nor on the reference backend, where every number comes from plain code.)"""
        return self.jit_compile and config.get_backend() != "reference"

    def _sources(self) -> list[list[int]]:
        """For each layer of ``self._layers``, the indices of its inputs (-1: the model's input)."""
        raise NotImplementedError

    def _training_plan(self) -> fast.TrainingPlan:
        """The fast training step, built once and again only when the layers change
        (a hook added or removed, a layer frozen)."""
        key = tuple((id(layer), tuple(layer._hooks), layer.trainable, bool(layer.trainable_weights))
                    for layer in self._layers)
        if self._plan_cache is None or self._plan_cache[0] != key:
            self._plan_cache = (key, fast.TrainingPlan(self._layers, self._sources()))
        return self._plan_cache[1]

    def _train_step(self, x, y, where: str = "train_on_batch", sample_weight=None) -> float:
        """One optimizer step; returns the loss (regularization penalties included, as Keras)
        and updates the metrics."""
        params = self.trainable_weights
        before = nonfinite.StepState(self)    # what a failed step must leave as it found it
        # Overflow is not warned about here: it is checked for below, and reported
        # with the layer where it happened.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if self._uses_plan():
                plan = self._training_plan()
                y_pred = plan.forward(x)
                loss, dy_pred, dlogits = self._loss_and_gradient(y, y_pred, plan.logits, sample_weight)
                plan.backward(dy_pred, dlogits)
            else:
                y_pred = self.forward(x, training=True)[-1]
                logits = getattr(self._layers[-1], "preactivation", None)
                loss, dy_pred, dlogits = self._loss_and_gradient(y, y_pred, logits, sample_weight)
                self.backward(dy_pred, dlogits, input_grad=False)
        loss += regularizers.add_penalties(self.weights)   # penalty in the loss, its gradient in each grad
        # Checked before the optimizer runs, so a NaN never reaches the weights.
        if not nonfinite.step_is_finite(loss, params, self.non_trainable_weights):
            before.restore()
            raise nonfinite.diagnose(self, x, y, before, where)
        if self._uses_plan():
            fast.apply_optimizer(self.optimizer, params)
        else:
            self.optimizer.apply(params)
        for metric in self.metrics:
            metric.update(y, y_pred)
        return loss

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None):
        """One optimizer step on one batch; returns ``[loss, *metrics]`` (or the loss)."""
        self._require_compiled()
        x = validation.check_x(self, x)
        self._ensure_built(x)
        y = validation.check_y(self, x, y)
        weights = validation.sample_weights(self, y, sample_weight, class_weight, len(x))
        for metric in self.metrics:
            metric.reset()
        loss = self._train_step(x, y, sample_weight=weights)
        return [loss] + [m.result() for m in self.metrics] if self.metrics else loss

    # ------------------------------------------------------------------ loops
    def fit(self, x, y, batch_size: int = 32, epochs: int = 1, verbose: int = 1,
            callbacks: list[Callback] | None = None, validation_split: float = 0.0,
            validation_data=None, shuffle: bool = True, initial_epoch: int = 0,
            class_weight: dict | None = None, sample_weight=None) -> History:
        """Train for ``epochs`` passes over (x, y); returns a ``History``.

        ``class_weight`` ({class: weight}) or ``sample_weight`` (one per sample)
        weigh each sample's loss (see ``minicnn.losses``); not the metrics."""
        self._require_compiled()
        epochs, initial_epoch = validation.check_epochs(self, epochs, initial_epoch)
        validation_split = validation.check_validation_split(self, validation_split)
        callbacks = validation.check_callbacks(self, callbacks)
        verbose = validation.check_verbose(self, verbose)
        x = validation.check_x(self, x)
        self._ensure_built(x)
        y = validation.check_y(self, x, y)
        batch_size = validation.check_batch_size(self, batch_size)
        weights = validation.sample_weights(self, y, sample_weight, class_weight, len(x))
        if validation_data is None and validation_split > 0:
            # Keras takes the *last* fraction of the data, before any shuffling.
            split = int(len(x) * (1.0 - validation_split))
            if split == 0 or split == len(x):
                raise InputError(f"model {self.name!r}: validation_split={validation_split} leaves "
                                 f"an empty training or validation set for {len(x)} samples")
            x, x_val = x[:split], x[split:]
            y, y_val = y[:split], y[split:]
            weights = None if weights is None else weights[:split]
            validation_data = (x_val, y_val)
        elif validation_data is not None:
            x_val, y_val = validation.check_validation_data(self, validation_data)
            x_val = validation.check_x(self, x_val, "validation x")
            validation_data = (x_val, validation.check_y(self, x_val, y_val, "validation y"))

        history = History()
        if initial_epoch > 0 and self.history is not None:
            # a resumed fit continues the saved history (epochs before initial_epoch)
            history.epoch = [e for e in self.history.epoch if e < initial_epoch]
            history.history = {k: list(v[:len(history.epoch)]) for k, v in self.history.history.items()}
        self.history = history
        callbacks = [history] + callbacks
        for cb in callbacks:
            cb.set_model(self)
        self.stop_training = False
        n = len(x)
        steps = -(-n // batch_size)
        logs: dict[str, float] = {}  # stays empty if no epoch runs (initial_epoch >= epochs)
        for cb in callbacks:
            cb.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            for cb in callbacks:
                cb.on_epoch_begin(epoch)
            if verbose:
                print(f"Epoch {epoch + 1}/{epochs}")
            bar = ProgressBar(steps) if verbose == 1 else None
            order = self.rng.permutation(n) if shuffle else np.arange(n)
            seen, loss_sum = 0, 0.0
            for metric in self.metrics:
                metric.reset()
            logs, stopped_on_nan = {}, False
            start = time.perf_counter()
            for step in range(steps):
                for cb in callbacks:
                    cb.on_train_batch_begin(step)
                idx = order[step * batch_size:(step + 1) * batch_size]
                try:
                    batch_loss = self._train_step(x[idx], y[idx], where=f"epoch {epoch + 1}, batch {step + 1}",
                                                  sample_weight=None if weights is None else weights[idx])
                except NonFiniteError as exc:
                    stoppers = [cb for cb in callbacks if isinstance(cb, TerminateOnNaN)]
                    if not stoppers:
                        raise
                    for cb in stoppers:
                        cb.on_nonfinite(exc)
                    self.stop_training = stopped_on_nan = True
                    break
                seen += len(idx)
                loss_sum += batch_loss * len(idx)  # weighted by batch size, as Keras
                logs = self._logs(loss_sum / seen)
                for cb in callbacks:
                    cb.on_train_batch_end(step, logs)
                if bar:
                    bar.update(step + 1, logs)
                if self.stop_training:
                    break
            if stopped_on_nan:
                break  # the failed step changed nothing; there is no epoch to report
            if seen == n:  # an epoch cut short by stop_training does not count
                self.completed_epochs = epoch + 1
            if validation_data is not None:
                val = self.evaluate(*validation_data, batch_size=batch_size, verbose=0)
                val = val if isinstance(val, list) else [val]
                logs.update({"val_" + k: v for k, v in zip(self.metrics_names, val)})
            if bar:
                bar.finish(logs)
            elif verbose == 2:
                print(f"{time.perf_counter() - start:.0f}s - " +
                      " - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        for cb in callbacks:
            cb.on_train_end(logs)
        return history

    def _logs(self, loss: float) -> dict[str, float]:
        return {"loss": loss, **{m.name: m.result() for m in self.metrics}}

    def evaluate(self, x, y, batch_size: int = 32, verbose: int = 1, sample_weight=None):
        """Loss (regularization penalties included) and metrics over (x, y) in inference
        mode: ``[loss, *metrics]`` in ``metrics_names`` order, or the loss alone."""
        self._require_compiled()
        verbose = validation.check_verbose(self, verbose)
        x = validation.check_x(self, x)
        self._ensure_built(x)
        y = validation.check_y(self, x, y)
        batch_size = validation.check_batch_size(self, batch_size)
        weights = validation.sample_weights(self, y, sample_weight, None, len(x))
        steps = -(-len(x) // batch_size)
        bar = ProgressBar(steps) if verbose else None
        loss_sum = 0.0
        penalty = regularizers.penalty(self.weights)     # the weights do not change here
        metrics = [metrics_module.get(m.get_config(), self.loss, self.name) for m in self.metrics]
        predict_batch = self._batch_predictor(len(x))  # predict's pass
        for step in range(steps):
            sl = slice(step * batch_size, (step + 1) * batch_size)
            outputs, logits = predict_batch(x[sl])
            y_pred = outputs[0]
            loss = self._loss_and_gradient(y[sl], y_pred, logits, None if weights is None else weights[sl])[0]
            loss_sum += (loss + penalty) * len(y_pred)
            for metric in metrics:
                metric.update(y[sl], y_pred)
            if bar:
                seen = min(len(x), (step + 1) * batch_size)
                bar.update(step + 1, {"loss": loss_sum / seen, **{m.name: m.result() for m in metrics}})
        logs = {"loss": loss_sum / len(x), **{m.name: m.result() for m in metrics}}
        if bar:
            bar.finish(logs)
        return list(logs.values()) if self.metrics else logs["loss"]

    #: A functional model built with a list of outputs predicts a list (as Keras).
    _list_output = False

    def _output_indices(self) -> list[int]:
        """The indices in ``self._layers`` of the layers whose outputs the model returns."""
        return [len(self._layers) - 1]

    def _batch_predictor(self, images: int) -> Callable[[np.ndarray], tuple[list[np.ndarray], np.ndarray | None]]:
        """What ``predict`` and ``evaluate`` call on each batch of their ``images`` images:
        ``x -> (the model's outputs, the output layer's logits or None)``. Through the
        fast plan (BatchNormalization folded: ``minicnn/fast/folding.py``; a batch of
        many images in parts, one per core: ``minicnn/fast/cores.py``) or the plain layers."""
        if self._uses_plan():
            return fast.SplitPredictPlan(self._layers, self._sources(), self._output_indices(), images).run

        def plain(x: np.ndarray) -> tuple[list[np.ndarray], np.ndarray | None]:
            outputs = self.forward(x)
            return ([x if i < 0 else outputs[i] for i in self._output_indices()],
                    getattr(self._layers[-1], "preactivation", None))
        return plain

    def predict(self, x, batch_size: int = 32, verbose: int = 1):
        """Outputs for every sample, in inference mode (a list for a multi-output model)."""
        verbose = validation.check_verbose(self, verbose)
        x = validation.check_x(self, x)
        self._ensure_built(x)
        batch_size = validation.check_batch_size(self, batch_size)
        steps = -(-len(x) // batch_size)
        bar = ProgressBar(steps) if verbose else None
        pieces: list[list[np.ndarray]] = []
        predict_batch = self._batch_predictor(len(x))
        for step in range(steps):
            outs, _ = predict_batch(x[step * batch_size:(step + 1) * batch_size])
            pieces = pieces or [[] for _ in outs]
            for piece, out in zip(pieces, outs):
                piece.append(out)
            if bar:
                bar.update(step + 1, {})
        if bar:
            bar.finish({})
        results = [np.concatenate(piece, axis=0) for piece in pieces]
        return results if self._list_output else results[0]
