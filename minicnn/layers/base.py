"""The ``Layer`` base class: weights, shapes, forward/backward, hooks.

Every layer follows one contract, so a learner who has read one layer can
read them all:

* ``build(input_shape)`` creates the weights once the input shape is known
  (shapes here never include the batch axis).
* ``forward(x, training)`` computes the output and keeps what ``backward``
  will need (the input, a mask, ...) on the layer.
* ``backward(dy)`` receives dL/d(output), stores dL/d(weight) in each
  trainable ``Parameter.grad``, and returns dL/d(input). It never changes a
  weight: updating is the optimizer's job.

``apply(x, training)`` is what models call: it checks the input shape (so the
error names this layer), runs ``forward`` and then the forward hooks.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

import numpy as np

from .. import config, initializers, seeding
from ..errors import ConfigError, InputError, NotBuiltError, ShapeError
from ..naming import snake_case, unique_name
from .graph import connect

Shape = tuple[int, ...]

#: While a model is rebuilt from a file: how many more weight values may be created (None: no limit).
_weight_budget: list[int] | None = None


@contextlib.contextmanager
def weight_budget(values: int) -> Iterator[None]:
    """Inside the block, creating more than ``values`` weight values in all raises ``ShapeError``.

    A model rebuilt from an untrusted file (``minicnn.io.model_file``) may not
    allocate more weights than the file holds: a 15 KB config that asks for
    ``units=2**24`` is refused before its 4 GB kernel exists.
    """
    global _weight_budget
    saved, _weight_budget = _weight_budget, [int(values)]
    try:
        yield
    finally:
        _weight_budget = saved


class Parameter:
    """One weight array of a layer, with its gradient.

    Attributes
    ----------
    name : str
        ``kernel``, ``bias``, ``gamma``, ``moving_mean``, ...
    value : np.ndarray
        The weight itself; optimizers update it in place.
    grad : np.ndarray or None
        dL/d(value) from the last ``backward`` (trainable parameters only).
    trainable : bool
        Whether the optimizer updates it (BatchNorm's moving statistics: no).
    regularizer : minicnn.regularizers.Regularizer or None
        A penalty on the value added to the loss (``kernel_regularizer=``...).
    """

    __slots__ = ("name", "value", "grad", "trainable", "regularizer")

    def __init__(self, name: str, value: np.ndarray, trainable: bool = True, regularizer=None) -> None:
        self.name = name
        self.value = value
        self.grad: np.ndarray | None = None
        self.trainable = trainable
        self.regularizer = regularizer

    def __repr__(self) -> str:
        kind = "trainable" if self.trainable else "non-trainable"
        return f"Parameter({self.name!r}, shape={self.value.shape}, {kind})"


class HookHandle:
    """Returned by ``register_forward_hook``; call ``remove()`` to detach the hook."""

    def __init__(self, hooks: dict[int, Callable], key: int) -> None:
        self._hooks, self._key = hooks, key

    def remove(self) -> None:
        self._hooks.pop(self._key, None)


class Layer:
    """Base class of every minicnn layer (see the module docstring)."""

    #: Rank of the input including the batch axis, or None for "any rank >= 2".
    input_ndim: int | None = None
    #: True for layers that take a list of tensors (``Add``, ``Concatenate``).
    multi_input: bool = False

    def __init__(self, name: str | None = None, input_shape: Shape | None = None,
                 trainable: bool = True, **unsupported) -> None:
        if unsupported:
            raise ConfigError(
                f"{type(self).__name__}: minicnn does not support the Keras argument(s) "
                f"{sorted(unsupported)}; this layer takes {self._arguments()}")
        if name is not None and (not isinstance(name, str) or not name):
            raise ConfigError(f"{type(self).__name__}: name must be a non-empty string, got {name!r}")
        self.name = name or unique_name(snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self._always_frozen: set[str] = set()   # weights that never learn (BatchNorm's moving statistics)
        self.built = False
        self.input_shape: Shape | None = None
        self.output_shape: Shape | None = None
        self.dtype = config.float_dtype()
        self.declared_input_shape = tuple(input_shape) if input_shape is not None else None
        self._params: list[Parameter] = []
        self._hooks: dict[int, Callable] = {}
        self._next_hook = 0
        # Functional API (minicnn.layers.graph): the symbolic tensors this layer
        # was called on, and the one it returned. None until it is called.
        self.inbound: list | None = None
        self._output = None

    @classmethod
    def _arguments(cls) -> list[str]:
        """The constructor arguments this layer class takes (for error messages)."""
        import inspect
        names = []
        for klass in cls.__mro__:
            if "__init__" in vars(klass):
                names += [p for p in inspect.signature(klass.__init__).parameters
                          if p not in ("self", "kwargs", "unsupported") and p not in names]
        return names

    # ------------------------------------------------------------------ functional API
    def __call__(self, inputs):
        """``layer(tensor)``: on a symbolic tensor (from ``Input``), record the
        call and return the output tensor (see ``minicnn.Model``); on arrays,
        run the layer in inference mode, building it first if needed."""
        arrays = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        if arrays and all(isinstance(a, np.ndarray) for a in arrays):
            if not self.built:
                self.build([a.shape[1:] for a in arrays] if self.multi_input else arrays[0].shape[1:])
            return self.apply(list(arrays) if self.multi_input else arrays[0])
        return connect(self, inputs)

    @property
    def output(self):
        """The symbolic tensor this layer produced (Keras's ``layer.output``)."""
        if self._output is None:
            raise ConfigError(f"{self._describe()} has not been called on a symbolic tensor, so it "
                              "has no .output; build models with Input(...) and layer(tensor) to use it")
        return self._output

    @output.setter
    def output(self, tensor) -> None:
        self._output = tensor

    # ------------------------------------------------------------------ building
    def build(self, input_shape: Shape, rng: np.random.Generator | None = None) -> None:
        """Create the weights for inputs of shape ``(None,) + input_shape``."""
        input_shape = tuple(int(d) for d in input_shape)
        self._check_rank(len(input_shape) + 1, input_shape)
        self.dtype = config.float_dtype()
        self._params = []
        self._create_weights(input_shape, rng if rng is not None else seeding.global_rng())
        self.input_shape = input_shape
        self.output_shape = tuple(self.compute_output_shape(input_shape))
        self.built = True

    def _create_weights(self, input_shape: Shape, rng: np.random.Generator) -> None:
        """Subclasses with weights create them here with :meth:`add_weight`."""

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """Output shape (without batch) for an input shape (without batch)."""
        return input_shape

    def add_weight(self, name: str, shape: Shape, initializer: Any, rng: np.random.Generator,
                   trainable: bool = True, regularizer=None) -> Parameter:
        init = initializers.get(initializer)
        if _weight_budget is not None:
            size = int(np.prod(shape, dtype=np.int64))
            if size > _weight_budget[0]:
                raise ShapeError(f"{self._describe()}: weight {name!r} of shape {tuple(shape)} needs {size} "
                                 f"values, more than the {_weight_budget[0]} left in the file being loaded")
            _weight_budget[0] -= size
        value = np.ascontiguousarray(init(tuple(shape), rng, self.dtype), dtype=self.dtype)
        if not trainable:
            self._always_frozen.add(name)
        param = Parameter(name, value, trainable and self.trainable, regularizer)
        self._params.append(param)
        return param

    @property
    def trainable(self) -> bool:
        """Whether the optimizer updates this layer's weights. Setting it (as in Keras, to
        freeze a layer for transfer learning) takes effect at once, also in ``summary``."""
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for p in self._params:
            p.trainable = self._trainable and p.name not in self._always_frozen

    # ------------------------------------------------------------------ running
    def apply(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Check the input, run ``forward``, then the forward hooks."""
        if not self.built:
            raise NotBuiltError(f"layer {self.name!r} ({type(self).__name__}) is not built yet")
        self._check_input(x)
        y = self.forward(x, training=training)
        for hook in list(self._hooks.values()):
            replaced = hook(self, x, y)
            if replaced is not None:
                y = replaced
        return y

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dL/d(input) from dy = dL/d(output); fills each Parameter.grad.

        Returns a new array or a view of dy, never an array the layer keeps
        (the fast training step, ``minicnn.fast``, relies on it when it lets
        a layer write over the gradient it is handed).
        """
        raise NotImplementedError

    def register_forward_hook(self, fn: Callable[["Layer", np.ndarray, np.ndarray], Any]) -> HookHandle:
        """Call ``fn(layer, input, output)`` after every forward (as in PyTorch).

        If ``fn`` returns an array, it replaces the output.
        """
        key = self._next_hook
        self._next_hook += 1
        self._hooks[key] = fn
        return HookHandle(self._hooks, key)

    # ------------------------------------------------------------------ weights
    @property
    def weights(self) -> list[Parameter]:
        """All parameters, in Keras's ``get_weights`` order."""
        return list(self._params)

    @property
    def trainable_weights(self) -> list[Parameter]:
        return [p for p in self._params if p.trainable]

    @property
    def non_trainable_weights(self) -> list[Parameter]:
        return [p for p in self._params if not p.trainable]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every weight array, in Keras order."""
        return [p.value.copy() for p in self._params]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Replace every weight array; shapes must match exactly."""
        if not isinstance(weights, (list, tuple)):
            raise InputError(f"{self._describe()}: set_weights expects a list of arrays (as get_weights "
                             f"returns), got {type(weights).__name__}")
        if len(weights) != len(self._params):
            raise ShapeError(
                f"layer {self.name!r} ({type(self).__name__}) has {len(self._params)} weight arrays "
                f"{[p.name for p in self._params]}, got {len(weights)}"
            )
        for param, new in zip(self._params, weights):
            new = np.asarray(new)
            if new.shape != param.value.shape:
                raise ShapeError(
                    f"layer {self.name!r}: weight {param.name!r} expects shape "
                    f"{param.value.shape}, got {new.shape}"
                )
        for param, new in zip(self._params, weights):
            param.value[...] = np.asarray(new, dtype=self.dtype)

    def count_params(self) -> int:
        return int(sum(p.value.size for p in self._params))

    def get_config(self) -> dict:
        """Constructor arguments that rebuild this layer (used by ``save``)."""
        return {"name": self.name}

    # ------------------------------------------------------------------ checks
    def _describe(self) -> str:
        return f"layer {self.name!r} ({type(self).__name__})"

    def _check_rank(self, ndim: int, shape: Shape) -> None:
        if self.input_ndim is not None and ndim != self.input_ndim:
            raise ShapeError(
                f"{self._describe()} expects {self.input_ndim}-D input (batch included), "
                f"got {ndim}-D input of shape {(None,) + tuple(shape)}"
                + self._rank_hint(ndim)
            )

    def _rank_hint(self, ndim: int) -> str:
        return ""

    def _check_input(self, x: np.ndarray) -> None:
        if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
            dtype = getattr(x, "dtype", type(x).__name__)
            raise InputError(f"{self._describe()} expects a floating-point array, got {dtype}")
        if x.ndim != len(self.input_shape) + 1 or x.shape[1:] != self.input_shape:
            raise ShapeError(
                f"{self._describe()} expects input of shape {(None,) + self.input_shape}, "
                f"got {x.shape}"
            )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


def as_pair(value: int | tuple[int, int] | list[int], what: str, layer: str,
            minimum: int = 1) -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; ``(2, 3)`` stays; anything else, or below ``minimum``, raises."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        pair = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
        pair = (int(value[0]), int(value[1]))
    else:
        raise ConfigError(f"{layer}: {what} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ConfigError(f"{layer}: {what} must be "
                          f"{'positive' if minimum == 1 else f'at least {minimum}'}, got {value!r}")
    return pair


def check_padding(padding: str, layer: str) -> str:
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ConfigError(f"{layer}: padding must be 'valid' or 'same', got {padding!r}")
    return padding.lower()
