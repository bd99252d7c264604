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

The new file gets the mode an ordinary ``open`` would give it (0666 less the
umask), and a file written over keeps its own mode. A process killed during
a write (SIGKILL runs no clean-up) leaves its temporary file behind; the next
write to the same target removes such leftovers once they are a minute old
(younger ones may belong to a save still under way).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import BinaryIO, Callable


STALE_SECONDS = 60


def _mode_for(path: Path) -> int:
    """The target's own mode when it exists, else what ``open`` would give a new file."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def remove_stale(folder: Path, pattern: str, older_than: float = STALE_SECONDS) -> None:
    """Delete the files of ``folder`` matching ``pattern`` not modified for ``older_than`` seconds:
    what a killed writer left behind (a younger one may belong to a write still under way)."""
    cutoff = time.time() - older_than
    for leftover in folder.glob(pattern):
        try:
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()
        except OSError:
            pass


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(f)`` on a temporary binary file, then move it onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path.parent, f".{path.name}.*.tmp")
    mode = _mode_for(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            if hasattr(os, "fchmod"):           # POSIX; elsewhere the mode stays as created
                os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path
