"""The Keras-style ``summary()`` table."""

from __future__ import annotations

from typing import Callable

_WIDTHS = (28, 26, 10)  # Layer (type) | Output Shape | Param #
_CONNECTED_WIDTH = 28   # functional models add "Connected to"


def _bytes(n_params: int, itemsize: int) -> str:
    size = n_params * itemsize
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}"
        size /= 1024
    return ""


def format_summary(model_name: str, rows: list[tuple], trainable: int,
                   non_trainable: int, itemsize: int = 4) -> str:
    """rows: (``"name (Type)"``, ``"(None, 28, 28, 32)"``, params), plus, for a
    functional model, a fourth item: the list of ``"layer[0][0]"`` it reads."""
    connected = bool(rows) and len(rows[0]) == 4
    total_width = sum(_WIDTHS) + 1 + (_CONNECTED_WIDTH if connected else 0)  # 65, as in Keras

    def row(a: str, b: str, c: str, d: str = "") -> str:
        text = f" {a:<{_WIDTHS[0]}}{b:<{_WIDTHS[1]}}{c:<{_WIDTHS[2]}}"
        return (text + d).rstrip() if connected else text

    lines = [f'Model: "{model_name}"', "_" * total_width]
    lines.append(row("Layer (type)", "Output Shape", "Param #", "Connected to"))
    lines.append("=" * total_width)
    for i, (name, shape, params, *rest) in enumerate(rows):
        sources = rest[0] if rest else []
        # A name longer than its column wraps onto the next line, as in Keras; so
        # does each further source of a merge layer.
        cut = _WIDTHS[0] - 1
        extra = [name[k:k + cut] for k in range(cut, len(name), cut)]
        lines.append(row(name[:cut], shape, f"{params:,}", sources[0] if sources else ("-" if connected else "")))
        for k in range(max(len(extra), len(sources) - 1)):
            lines.append(row(extra[k] if k < len(extra) else "", "", "",
                             sources[k + 1] if k + 1 < len(sources) else ""))
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
