"""Atomic file writes: a crash leaves the old file or the new one, never half of one.

The recipe, used for every file minicnn writes that a user would hate to lose
(model files, checkpoints, Keras weight files):

1. write into a temporary file *in the target's folder* (a rename is atomic
   only within one file system, so the temporary file must live beside the
   target);
2. flush Python's buffer and ``fsync`` the file, so the bytes are on disk
   before the name points at them;
3. ``os.replace`` the temporary file onto the target name (atomic on POSIX and
   Windows);
4. on any failure - including ``KeyboardInterrupt`` - delete the temporary file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(f)`` on a temporary binary file, then move it onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path
