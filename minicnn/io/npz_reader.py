"""Reading an untrusted ``.npz`` archive without allocating what it has not proved it holds.

``np.load`` reads a member whole before anyone can look at its shape, and a
deflated member of zeros can declare little and expand to gigabytes. This
reader looks first and reads second:

* the zip directory: every member name is one the format allows, no name
  appears twice, and no member declares more than a cap;
* a member's ``.npy`` header (its first bytes): the dtype is a plain numeric
  or string type, never ``object`` (``allow_pickle`` stays off), and the
  declared uncompressed size equals what the header's shape and dtype need -
  so reading it can neither allocate more than the header promised nor more
  than the zip declared (a zip member is never read past its declared size);
* only then the data, into an array of exactly that shape.

Every failure is a ``ModelFileError`` naming the file and the member.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np

from ..errors import ModelFileError


class NpzReader:
    """The members of one ``.npz`` file, checked as described above."""

    def __init__(self, path: Path, allowed: re.Pattern, member_cap: int) -> None:
        self.path = path
        try:
            self.zip = zipfile.ZipFile(path)
        except FileNotFoundError:
            raise ModelFileError(f"{path}: no such model file") from None
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            raise ModelFileError(f"{path}: not a readable minicnn model file (truncated or corrupt: "
                                 f"{type(exc).__name__}: {exc})") from None
        self.members: dict[str, zipfile.ZipInfo] = {}
        archive_size = Path(path).stat().st_size
        for info in self.zip.infolist():
            if not info.filename.endswith(".npy") or not allowed.fullmatch(info.filename[:-4]):
                self.close()
                raise ModelFileError(f"{path}: unexpected member {info.filename!r}")
            name = info.filename[:-4]
            if name in self.members:
                self.close()
                raise ModelFileError(f"{path}: member {info.filename!r} appears twice")
            if info.file_size > member_cap:
                self.close()
                raise ModelFileError(f"{path}: member {info.filename!r} declares {info.file_size} bytes, "
                                     f"more than this format allows ({member_cap})")
            if info.compress_size > archive_size:   # zipfile would read (and allocate) the claimed size
                self.close()
                raise ModelFileError(f"{path}: member {info.filename!r} claims {info.compress_size} stored "
                                     f"bytes in a file of {archive_size}; the file is damaged")
            self.members[name] = info

    def header(self, name: str) -> tuple[tuple[int, ...], np.dtype]:
        """(shape, dtype) of member ``name``, from its header alone."""
        try:
            with self.zip.open(self.members[name]) as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(f, max_header_size=10000)
                elif version == (2, 0):
                    shape, _, dtype = np.lib.format.read_array_header_2_0(f, max_header_size=10000)
                else:
                    raise ModelFileError(f"{self.path}: member {name}.npy is .npy version {version}, "
                                         "expected 1.0 or 2.0")
                header_bytes = f.tell()
        except ModelFileError:
            raise
        except Exception as exc:  # noqa: BLE001 - any damage to the header means "corrupt"
            raise ModelFileError(f"{self.path}: member {name}.npy has no valid array header "
                                 f"({type(exc).__name__}: {exc})") from None
        if dtype.hasobject or dtype.kind not in "biufU":
            raise ModelFileError(f"{self.path}: member {name}.npy has dtype {dtype}, expected numbers or text")
        needed = header_bytes + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if needed != self.members[name].file_size:
            raise ModelFileError(f"{self.path}: member {name}.npy declares {self.members[name].file_size} bytes, "
                                 f"its header {shape} {dtype} needs {needed}")
        return tuple(shape), dtype

    def read(self, name: str) -> np.ndarray:
        """The array of member ``name`` (its header checked first)."""
        self.header(name)
        try:
            with self.zip.open(self.members[name]) as f:
                return np.lib.format.read_array(f, allow_pickle=False)
        except Exception as exc:  # noqa: BLE001 - zlib.error, CRC errors, short reads ...
            raise ModelFileError(f"{self.path}: member {name}.npy cannot be read (truncated or corrupt: "
                                 f"{type(exc).__name__}: {exc})") from None

    def close(self) -> None:
        self.zip.close()
