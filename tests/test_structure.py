"""The shape of the source a learner reads: plain layers, one-way imports, short modules."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import minicnn
from minicnn.layers import Conv2D

PACKAGE = Path(minicnn.__file__).parent


def _imported_units(path: Path) -> set[str]:
    """The top-level minicnn units (subpackage or module) that ``path`` imports, at any depth."""
    unit_of_file = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom) or not node.level:
            continue
        base = path.parent
        for _ in range(node.level - 1):
            base = base.parent
        if node.module:
            target = base.joinpath(*node.module.split("."))
            parts = target.relative_to(PACKAGE).parts
            if parts:
                found.add(parts[0].removesuffix(".py"))
        else:          # from .. import a, b
            rel = base.relative_to(PACKAGE).parts
            found |= {rel[0]} if rel else {alias.name for alias in node.names}
    return found - {unit_of_file}


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        unit = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        if unit != "__init__":
            graph.setdefault(unit, set()).update(_imported_units(path))
    return graph


def test_the_packages_import_each_other_one_way():
    """layers -> kernels, fast -> layers and kernels, model -> layers and fast, io -> model, viz -> model:
    no cycle anywhere between minicnn's subpackages and modules."""
    graph = _graph()
    assert "model" in graph["io"] and "io" not in graph["model"]
    assert "fast" in graph["model"] and "model" not in graph["fast"]
    assert not {"model", "fast", "io", "viz"} & graph["layers"]
    assert not {"model", "fast", "layers"} & graph["kernels"]
    state: dict[str, int] = {}

    def visit(unit: str, path: list[str]) -> None:
        state[unit] = 1
        for nxt in sorted(graph.get(unit, ())):
            assert state.get(nxt) != 1, f"import cycle: {' -> '.join(path + [nxt])}"
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[unit] = 2

    for unit in sorted(graph):
        if unit not in state:
            visit(unit, [unit])


def test_the_layers_hold_no_speed_machinery():
    """No fused kernels, in-place variants, kept matrices or model-set flags in what a learner opens."""
    files = list((PACKAGE / "layers").glob("*.py")) + [PACKAGE / "activations.py", PACKAGE / "optimizers.py"]
    for path in files:
        text = path.read_text()
        for word in ("njit", "elementwise", "out=", "_over(", "needs_input_grad", "_cols", "from ..fast",
                     "kernels.batchnorm", "kernels.adam"):
            assert word not in text, f"{path.name} contains {word!r}"


def test_conv2d_forward_reads_like_the_formula():
    lines = [line for line in inspect.getsource(Conv2D.forward).splitlines()[1:] if line.strip()]
    assert len(lines) <= 10


def test_no_module_is_long():
    for path in PACKAGE.rglob("*.py"):
        assert len(path.read_text().splitlines()) <= 420, path
