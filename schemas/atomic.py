"""The one way this project writes a file: a temporary name beside it, fsync, rename.

A crash (or kill -9) never leaves a half file under a final name, and every
temporary name has one shape (``.<name>.tmp-<pid>-<random>``), so one
:func:`remove_stale_temporaries` finds what any interrupted writer left. Lives
in ``schemas`` because every layer writes files and ``schemas`` is the layer
all may import.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

_MARK = ".tmp-"


def temporary_name(path: Path) -> Path:
    """A name beside ``path`` that no finished file has and no concurrent writer shares."""
    return path.with_name(f".{path.name}{_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}")


def is_temporary(path: Path) -> bool:
    return path.name.startswith(".") and _MARK in path.name


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s content to; it is fsynced and renamed on success, removed on error.

    For writers that insist on opening the file themselves (pyarrow, tarfile).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file for writing; on success it replaces ``path``. Modes ``"wb"`` or ``"w"`` (UTF-8)."""
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_open writes whole files: mode 'wb' or 'w', got {mode!r}")
    with atomic_path(path) as tmp:
        # Not mkstemp: its 0600 mode would follow the file into a published, shared folder.
        with open(tmp, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as f:
            yield f


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_open(path, "wb") as f:
        f.write(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    with atomic_open(path, "w") as f:
        f.write(text)
    return Path(path)


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete what interrupted writers left in ``folder`` (not below it); returns what was removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    stale = [p for p in folder.iterdir() if is_temporary(p) and p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def writable_folder_problem(folder: str | os.PathLike) -> str | None:
    """Why files cannot be written atomically into ``folder`` (created if missing), or None when they can.

    Tries what every writer does, a temporary file beside the final name, so
    the answer holds for any user (``os.access`` says yes to root even on a
    read-only mount). For the CLI, which must say this in one line before a
    run starts rather than after Beam has retried a shard job.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = temporary_name(folder / "write-check")
        probe.touch()
        probe.unlink()
    except OSError as exc:
        blocking = next((p for p in [folder, *folder.parents] if p.exists() and not p.is_dir()), None)
        if blocking is not None:
            return f"{blocking} is a file, not a folder"
        return f"cannot write into {folder}: {exc.strerror or exc}"
    return None


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable; not every platform can open a directory."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
