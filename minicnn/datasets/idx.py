"""The IDX file format of MNIST and Fashion-MNIST.

An IDX file is a big-endian header followed by raw values::

    bytes 0-1   0, 0
    byte  2     type code (0x08 = unsigned byte)
    byte  3     number of dimensions d
    then        d sizes, each a 4-byte big-endian integer
    then        prod(sizes) values, row-major

so the "magic number" read as one big-endian int32 is 2049 (0x00000801) for
a label file (d = 1) and 2051 (0x00000803) for an image file (d = 3).
"""

from __future__ import annotations

import numpy as np

from ..errors import DatasetError


def parse_idx(data: bytes, what: str, expected_ndim: int) -> np.ndarray:
    """Decode IDX bytes into a uint8 array of ``expected_ndim`` dimensions."""
    if len(data) < 4:
        raise DatasetError(f"{what}: {len(data)} bytes is too short for an IDX header")
    zero, type_code, ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
    magic = int.from_bytes(data[:4], "big")
    if zero != 0 or type_code != 0x08 or ndim != expected_ndim:
        raise DatasetError(f"{what}: not an IDX file of unsigned bytes with {expected_ndim} dimensions "
                           f"(magic number {magic}, expected {0x0800 + expected_ndim})")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{what}: truncated IDX header")
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape))
    if len(data) != expected:
        raise DatasetError(f"{what}: the header announces shape {shape} ({expected} bytes) "
                           f"but the file holds {len(data)} bytes (truncated or padded)")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def encode_idx(array: np.ndarray) -> bytes:
    """uint8 array -> IDX bytes (the inverse of :func:`parse_idx`; used by tests)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    head = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return head + array.tobytes()
