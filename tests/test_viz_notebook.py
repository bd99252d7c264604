"""In a notebook, a view's figure appears once, however it is called."""

from __future__ import annotations

import pytest


def test_a_view_shows_once_in_a_notebook(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    setup = """%matplotlib inline
import matplotlib.pyplot as plt
import minicnn
from minicnn import layers, viz
model = minicnn.Sequential([layers.Input((8, 8, 1)), layers.Conv2D(4, 3, name="conv1")], seed=0)"""
    calls = ['viz.filters(model, "conv1")',                             # the last value of a cell
             'fig = viz.filters(model, "conv1")\nplt.show()',           # the pyplot way
             'fig = viz.filters(model, "conv1")',                       # assigned only
             'fig = viz.filters(model, "conv1")\nfig']                  # assigned, then shown as a value
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(setup)] +
                                        [nbformat.v4.new_code_cell(code) for code in calls])
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    for cell in notebook.cells[1:]:
        outputs = cell.get("outputs", [])
        assert not [o for o in outputs if o.get("output_type") == "error"], outputs
        pictures = [o for o in outputs if "image/png" in o.get("data", {})]
        assert len(pictures) == 1, f"{cell.source!r} drew {len(pictures)} pictures"
