"""The README and the docs say only what runs: their Python blocks are executed, their links
resolve, the README stays short, and no page names a path only this project's machines have."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def python_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: p.name)
def test_python_blocks_run_as_written(page, tmp_path, monkeypatch, capsys):
    """The blocks of a page run in order in one namespace, as a reader would paste them."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__readme__"}
    for i, block in enumerate(python_blocks(page)):
        try:
            exec(compile(block, f"{page.name}, python block {i + 1}", "exec"), namespace)
        finally:
            plt.close("all")


def test_the_readme_is_short_and_has_a_reading_order():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 300
    assert "## Read the source" in text and "1. `minicnn/layers/base.py`" in text


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_resolve_and_paths_exist_for_users(page):
    text = page.read_text()
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        if not target.startswith("http"):
            assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"
    assert "../shared" not in text, f"{page.name} names ../shared, a path only this project's machines have"


def api_modules() -> list[str]:
    """Every module of minicnn but the private ones, ``__main__`` and the benchmark harness: each
    file's docstring (its formulas and shapes) is what a reader of the reference wants, and a
    package's ``__all__`` would hide its files from pdoc, so they are listed one by one."""
    import pkgutil

    import minicnn
    names = ["minicnn"]
    for info in pkgutil.walk_packages(minicnn.__path__, "minicnn."):
        parts = info.name.split(".")
        if parts[1] != "bench" and not any(part.startswith("_") for part in parts[1:]):
            names.append(info.name)
    return names


def test_the_api_reference_builds_from_the_docstrings(tmp_path):
    """The API reference (``python -c "import pdoc, tests.test_docs as t; pdoc.pdoc(*t.api_modules(),
    output_directory='api')"``) renders every module's docstrings; a module that fails to import
    or a docstring pdoc cannot render fails here."""
    import warnings

    pdoc = pytest.importorskip("pdoc")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pdoc.pdoc(*api_modules(), output_directory=tmp_path)
    # (a module reached twice - listed, and through its package's __all__ - is rendered once)
    ours = [str(w.message) for w in caught if "minicnn" in str(w.message)
            and not _generated_init_annotation(str(w.message))
            and "Only one documentation page will be generated" not in str(w.message)]
    assert not ours, ours
    pages = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.html")}
    for module in ("minicnn/layers/conv2d.html", "minicnn/fast/plan.html", "minicnn/optimizers.html",
                   "minicnn/layers/augmentation.html", "minicnn/viz.html"):
        assert module in pages, sorted(pages)[:20]
    assert "dL/dkernel" in (tmp_path / "minicnn" / "layers" / "dense.html").read_text() or \
        "dkernel" in (tmp_path / "minicnn" / "layers" / "dense.html").read_text()


def _generated_init_annotation(message: str) -> bool:
    """pdoc cannot evaluate the annotations of an ``__init__`` that ``NamedTuple`` or
    ``dataclasses`` write (it runs in their namespace, where ``np`` is not defined): a limit of
    pdoc, not a broken docstring. True for that warning, on such a class."""
    import dataclasses
    import sys
    found = re.search(r"for (minicnn[\w.]*)\.(\w+)\.__init__\.", message)
    if not message.startswith("Error parsing type annotation") or not found:
        return False
    cls = getattr(sys.modules.get(found.group(1)), found.group(2), None)
    return dataclasses.is_dataclass(cls) or (isinstance(cls, type) and issubclass(cls, tuple)
                                             and hasattr(cls, "_fields"))


def test_result_tables_are_generated_from_the_result_files():
    """accuracy.md and the README's speed table are what ``python benchmarks/tables.py`` writes
    from the JSON files: a hand edit, or a result file changed without regenerating, fails."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("tables", ROOT / "benchmarks" / "tables.py")
    tables = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tables)
    assert tables.main(["--check"]) == 0
