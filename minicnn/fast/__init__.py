"""How minicnn is made fast: every speed trick, in one place, built from the plain layers.

The layers in ``minicnn/layers`` are written to be read: formula, ``forward``,
``backward``, each one call away from a kernel whose plain loops read like
the formula. They are never rewritten for speed. Instead, this package
builds a *plan* from them, once per model (the way CS231n's ``layer_utils``
composes its ``layers``), and ``compile(jit_compile=True)`` - the default -
runs training steps and ``predict`` through it. ``jit_compile=False`` runs the
plain layers one by one, and ``set_backend("reference")`` turns the plan off
too, so that every number comes from plain loops or NumPy. Tests hold the
two paths to the same numbers (``tests/test_plan_agreement.py``).

=================  ===============================================================
module             what it accelerates
=================  ===============================================================
``plan.py``        the training step of ``minicnn/model/training.py``: wires one
                   step per layer, decides which arrays may be written over and
                   which input gradients nobody needs
``steps.py``       each layer's ``forward``/``backward``, composed from its own
                   pieces (``Conv2D.convolve``, ...) with the fused kernels below
``folding.py``     ``predict``/``evaluate``: BatchNormalization folded into the
                   convolution or Dense before it
``pooling.py``     ``predict``/``evaluate``: a Conv2D's bias + ReLU and the
                   max-pool after it, one pass after the product
``cores.py``       ``predict``/``evaluate`` on a batch of many images: the batch
                   cut in parts, each part through the plan on a core of its own
``elementwise.py`` ``minicnn/activations.py`` ReLU/LeakyReLU, with the bias add
                   and the bias gradient, one pass each
``batchnorm.py``   ``layers/batch_norm.py``'s formulas in two passes each way
``adam.py``        ``optimizers.Adam.update`` in one pass
``first_layer.py`` ``Conv2D.kernel_gradient`` on im2col for a first layer: the
                   forward's unrolled input is kept
=================  ===============================================================

Measurements behind each choice: ``docs/speed.md``.
"""

from .adam import apply_optimizer
from .cores import SplitPredictPlan
from .folding import PredictPlan
from .plan import TrainingPlan

__all__ = ["PredictPlan", "SplitPredictPlan", "TrainingPlan", "apply_optimizer"]
