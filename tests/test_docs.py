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
