"""The Keras-style ``summary()`` table."""

from __future__ import annotations

from typing import Callable

_WIDTHS = (28, 26, 10)  # Layer (type) | Output Shape | Param #


def _bytes(n_params: int, itemsize: int) -> str:
    size = n_params * itemsize
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}"
        size /= 1024
    return ""


def format_summary(model_name: str, rows: list[tuple[str, str, int]], trainable: int,
                   non_trainable: int, itemsize: int = 4) -> str:
    """rows: (``"name (Type)"``, ``"(None, 28, 28, 32)"``, params)."""
    total_width = sum(_WIDTHS) + 1  # 65, as in Keras
    lines = [f'Model: "{model_name}"', "_" * total_width]

    def row(a: str, b: str, c: str) -> str:
        return f" {a:<{_WIDTHS[0]}}{b:<{_WIDTHS[1]}}{c:<{_WIDTHS[2]}}"

    lines.append(row("Layer (type)", "Output Shape", "Param #"))
    lines.append("=" * total_width)
    for i, (name, shape, params) in enumerate(rows):
        # A name longer than its column wraps onto the next line, as in Keras.
        cut = _WIDTHS[0] - 1
        lines.append(row(name[:cut], shape, f"{params:,}"))
        for k in range(cut, len(name), cut):
            lines.append(row(name[k:k + cut], "", ""))
        if i < len(rows) - 1:
            lines.append("")
    lines.append("=" * total_width)
    total = trainable + non_trainable
    lines.append(f"Total params: {total:,} ({_bytes(total, itemsize)})")
    lines.append(f"Trainable params: {trainable:,} ({_bytes(trainable, itemsize)})")
    lines.append(f"Non-trainable params: {non_trainable:,} ({_bytes(non_trainable, itemsize)})")
    lines.append("_" * total_width)
    return "\n".join(lines)


def print_summary(text: str, print_fn: Callable[[str], None] | None = None) -> None:
    (print_fn or print)(text)
