"""Benchmarking minicnn beside the engines people would pick instead (Keras/TensorFlow, PyTorch).

``minicnn bench conv ...`` and ``minicnn bench train ...`` (``minicnn/cli.py``)
run these from an installed minicnn; the scripts in ``benchmarks/`` run the
full suites and write ``benchmarks/results/``.

* ``machine.py``: the CPU, its vector extensions, NumPy's BLAS and its sgemm
  rate, recorded with every result (a speed figure is true only for its CPU).
* ``conv.py``: one convolution shape on minicnn's three implementations and
  on the installed peers.
* ``train.py``: the seed models' training step and predict, each engine in a
  process of its own.
* ``peers.py``: the same model in Keras and in PyTorch, built from a minicnn model.
"""
