"""Tar shards in the WebDataset layout, written atomically, with byte offsets for seeking.

Each clip is two members, ``<key>.mp4`` and ``<key>.json``. WebDataset splits a
member name at its first dot into key and extension, so keys never contain a
dot. The writer records where each mp4 payload starts inside the tar, which lets
a reader (ours or anyone's) ``seek`` straight to a clip using the Parquet index
instead of scanning the archive.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from schemas.atomic import atomic_open

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
# Fixed member metadata so that identical clips give byte-identical shards.
_MTIME = 0
_MODE = 0o644


@dataclass
class ShardMember:
    """One clip to write: its key, encoded mp4 bytes and the JSON sidecar fields."""

    key: str
    mp4: bytes
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class WrittenClip:
    key: str
    offset: int
    size: int
    sha256: str


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _tarinfo(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = _MTIME
    info.mode = _MODE
    info.uname = info.gname = ""
    return info


def write_shard(path: str | os.PathLike, members: list[ShardMember]) -> list[WrittenClip]:
    """Write ``members`` to the tar at ``path`` atomically and return where each mp4 landed.

    The tar is written under a temporary name in the same folder, flushed to disk
    and renamed, so a crash never leaves a half shard under the final name.
    """
    path = Path(path)
    seen: set[str] = set()
    for m in members:
        if not KEY_PATTERN.match(m.key):
            raise ValueError(f"clip key {m.key!r} must match {KEY_PATTERN.pattern} (no dots, no slashes)")
        if m.key in seen:
            raise ValueError(f"clip key {m.key!r} appears twice in shard {path.name}")
        seen.add(m.key)
    written: list[WrittenClip] = []
    with atomic_open(path, "wb") as raw:
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            for m in members:
                digest = sha256_bytes(m.mp4)
                tar.addfile(_tarinfo(f"{m.key}.mp4", len(m.mp4)), io.BytesIO(m.mp4))
                # addfile pads the payload to whole 512-byte blocks; step back over them.
                padded = -(-len(m.mp4) // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE
                written.append(WrittenClip(m.key, tar.offset - padded, len(m.mp4), digest))
                sidecar = json.dumps({**m.meta, "key": m.key, "sha256": digest}, sort_keys=True).encode()
                tar.addfile(_tarinfo(f"{m.key}.json", len(sidecar)), io.BytesIO(sidecar))
    return written


def read_member(shard: str | os.PathLike, offset: int, size: int) -> bytes:
    """Read ``size`` bytes at ``offset`` of a shard: the seek path that the index makes possible.

    The range is checked against the file before anything is read, so a
    damaged index cannot ask for 2**62 bytes (a ``MemoryError``) or a negative
    offset; and the shard must be a regular file, opened without blocking, since
    a FIFO put in its place would otherwise block the reader forever.
    """
    if offset < 0 or size < 0:
        raise ValueError(f"{shard}: byte range {offset}+{size} is negative")
    fd = os.open(shard, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"{shard} is not a regular file")
        if offset + size > st.st_size:
            raise ValueError(f"{shard}: wanted {size} bytes at offset {offset}, the file ends after {st.st_size}")
        f.seek(offset)
        data = f.read(size)
    if len(data) != size:  # the file shrank since fstat
        raise ValueError(f"{shard}: wanted {size} bytes at offset {offset}, the file ends after {offset + len(data)}")
    return data
