"""Finding, downloading and verifying dataset files - without ever losing one.

Where ``load_mnist()`` & co. look, in order:

1. the ``data_dir=`` argument,
2. the ``MINICNN_DATA`` environment variable,
3. the cache, ``~/.minicnn/datasets``.

In each, a dataset's files may sit in a sub-folder named after it
(``<root>/mnist/train-images-idx3-ubyte.gz``) or directly in the root.

When a file is missing it is downloaded into the first of those folders that
was given (the cache if none was), like this:

* streamed into a temporary file *in the destination folder*, with a
  progress bar on stderr;
* verified (see :class:`FileSpec`); on a mismatch the temporary file is
  deleted and nothing is left behind;
* flushed to disk (``fsync``) and only then renamed to its final name. A
  rename within one folder is atomic, so an interrupted download never
  leaves a half-written file under the real name.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import os
import sys
import tempfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import DatasetError
from ..io.atomic import remove_stale

CACHE = Path("~/.minicnn/datasets")


@dataclass(frozen=True)
class FileSpec:
    """One official file and how to verify it.

    ``content_md5`` is the md5 of the *decompressed* content: a copy that was
    recompressed (or decompressed) by someone else still verifies.
    ``archive_md5`` is the md5 of the official compressed file, used only when
    no content checksum is published (then only that exact archive verifies).
    """

    name: str
    content_md5: str | None = None
    archive_md5: str | None = None
    #: the most bytes the file may take, compressed (a download is cut there) and decompressed
    #: (decompression stops there): a hostile file or server cannot make minicnn hold more
    max_bytes: int = 256 * 2**20
    max_content_bytes: int = 512 * 2**20


def search_roots(data_dir: str | os.PathLike | None) -> list[Path]:
    """The folders to look in, in order (see the module docstring)."""
    roots = []
    if data_dir is not None:
        roots.append(Path(data_dir).expanduser())
    if os.environ.get("MINICNN_DATA"):
        roots.append(Path(os.environ["MINICNN_DATA"]).expanduser())
    roots.append(CACHE.expanduser())
    return roots


def candidates(roots: list[Path], subdir: str, name: str) -> list[Path]:
    """Every place the file may be, compressed or not."""
    names = [name, name[:-3]] if name.endswith(".gz") else [name]
    return [root / folder / n for root in roots for folder in (subdir, "") for n in names]


def _decompressed(path: Path, raw: bytes, cap: int) -> bytes:
    """gzip content, decompressed a chunk at a time and refused once past ``cap`` bytes."""
    pieces, size = [], 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
            while True:
                chunk = stream.read(1 << 20)
                if not chunk:
                    break
                size += len(chunk)
                if size > cap:
                    raise DatasetError(f"{path}: decompresses to more than {cap} bytes, more than this "
                                       "file may hold; delete it")
                pieces.append(chunk)
    except (EOFError, OSError, zlib.error) as exc:
        if isinstance(exc, DatasetError):
            raise
        raise DatasetError(f"{path} is truncated or corrupt (gzip: {exc}); delete it and try again") from None
    return b"".join(pieces)


def read_verified(path: Path, spec: FileSpec) -> bytes:
    """The decompressed bytes of ``path``, after checking them against ``spec``."""
    try:
        if path.stat().st_size > spec.max_bytes:
            raise DatasetError(f"{path}: {path.stat().st_size} bytes, more than {spec.name} may take "
                               f"({spec.max_bytes}); delete it")
        raw = path.read_bytes()
    except DatasetError:
        raise
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from None
    content = _decompressed(path, raw, spec.max_content_bytes) if raw[:2] == b"\x1f\x8b" else raw
    if spec.content_md5 is not None:
        got = hashlib.md5(content).hexdigest()
        if got != spec.content_md5:
            raise DatasetError(f"{path}: checksum mismatch: the decompressed content has md5 {got}, "
                               f"the official {spec.name} has {spec.content_md5}")
    elif spec.archive_md5 is not None:
        got = hashlib.md5(raw).hexdigest()
        if got != spec.archive_md5:
            raise DatasetError(f"{path}: checksum mismatch: md5 {got}, the official archive "
                               f"{spec.name} has {spec.archive_md5} (only the official archive "
                               "can be verified for this dataset)")
    return content


def download(url: str, dest: Path, spec: FileSpec, timeout: float = 30.0) -> Path:
    """Download ``url`` to ``dest`` atomically and verify it (see the module docstring)."""
    created = [p for p in [dest.parent, *dest.parent.parents] if not p.exists()]
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(dest.parent, f".{dest.name}.*.part")   # a killed download's leftovers
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            while True:
                chunk = response.read(1 << 16)
                if not chunk:
                    break
                done += len(chunk)
                if done > spec.max_bytes:
                    raise DatasetError(f"download of {url} passed {spec.max_bytes} bytes, more than "
                                       f"{spec.name} may take; stopped")
                out.write(chunk)
                _progress(dest.name, done, total)
            out.flush()
            os.fsync(out.fileno())
        sys.stderr.write("\n")
        if total and done != total:
            raise DatasetError(f"download of {url} stopped after {done} of {total} bytes")
        read_verified(tmp, spec)  # raises on a bad checksum or a truncated archive
        os.replace(tmp, dest)     # atomic: dest is either absent or complete
        return dest
    except BaseException:
        tmp.unlink(missing_ok=True)
        for folder in created:  # innermost first; only the ones this call made, if still empty
            try:
                folder.rmdir()
            except OSError:
                break
        raise


def _progress(name: str, done: int, total: int) -> None:
    if total:
        filled = int(30 * done / total)
        sys.stderr.write(f"\rDownloading {name} [{'=' * filled}{'.' * (30 - filled)}] "
                         f"{done / 1e6:.1f}/{total / 1e6:.1f} MB")
    else:
        sys.stderr.write(f"\rDownloading {name} {done / 1e6:.1f} MB")
    sys.stderr.flush()


def fetch(dataset: str, subdir: str, spec: FileSpec, urls: list[str],
          data_dir: str | os.PathLike | None) -> bytes:
    """Find (or download) one file of a dataset and return its verified content."""
    roots = search_roots(data_dir)
    for path in candidates(roots, subdir, spec.name):
        if path.is_file():
            return read_verified(path, spec)
    dest = roots[0] / subdir / spec.name
    errors = []
    for base in urls:
        url = base + spec.name
        try:
            return read_verified(download(url, dest, spec), spec)
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            # DatasetError is an OSError; HTTPException covers a garbage status line and a cut reply
            errors.append(f"{url}: {getattr(exc, 'reason', exc)}")
    looked = "\n  ".join(str(p) for p in candidates(roots, subdir, spec.name))
    raise DatasetError(
        f"{dataset}: {spec.name} is not on this machine and could not be downloaded.\n"
        f"Looked for:\n  {looked}\nTried to download:\n  " + "\n  ".join(errors) +
        f"\nTo install it by hand, copy the official file {spec.name} (compressed or not) into "
        f"{roots[0] / subdir}/, or point MINICNN_DATA (or data_dir=) at a folder holding {subdir}/{spec.name}.")
