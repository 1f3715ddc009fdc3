"""What a listing of a real video dataset is: videos with labels and splits, and what was set aside.

Every layout (UCF-101, HMDB-51, Kinetics CSV, class folders) is listed by pure
Python into the same :class:`Listing`, before any video is opened, so that the
ingest plan (keys, shards) is fixed up front and the layouts share one
pipeline. A layout module reports a root that is not its layout with one
:class:`LayoutError` that says what it expected; a single bad entry (a listed
file that does not exist) is never an error, only a quarantine entry.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".webm")


_ESCAPED_BYTE = re.compile(r"\\x([0-9a-f]{2})")


def path_text(path: str | os.PathLike) -> str:
    """A file path as text that Parquet and JSON can store and :func:`text_path` turns back into the same bytes.

    Linux file names are bytes; Python hands names that are not UTF-8 over
    with each bad byte as a lone surrogate, which no UTF-8 writer accepts. Here
    every such byte, and every backslash, becomes ``\\xNN`` (two lower-case
    hex digits); all other text is kept as is. A UTF-8 name without
    backslashes (all of UCF-101, HMDB-51 and Kinetics) is therefore unchanged,
    and the escaped form is unambiguous, since a literal backslash is escaped too.
    """
    text = os.fsdecode(os.fsencode(path))
    return "".join(f"\\x{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) <= 0xDCFF else "\\x5c" if c == "\\" else c
                   for c in text)


def text_path(text: str) -> str:
    """The file path that :func:`path_text` wrote as ``text`` (bytes it escaped come back as surrogates, as ``os`` takes them)."""
    return _ESCAPED_BYTE.sub(lambda m: chr(0xDC00 + int(m[1], 16)) if int(m[1], 16) >= 0x80 else chr(int(m[1], 16)), text)


class LayoutError(ValueError):
    """A dataset root that is not the layout its source kind expects, or names classes it does not have."""


@dataclass(frozen=True)
class VideoItem:
    """One video to ingest.

    ``path`` is where to open it; ``source_path`` is how the index names it:
    relative to the dataset root, as the dataset's own lists write it, so the
    index does not depend on where the dataset was unpacked.
    ``time_range`` (seconds) is set when only part of the file is the labelled action.
    """

    path: str
    source_path: str
    label: int
    label_name: str
    split: str
    time_range: tuple[float, float] | None = None


@dataclass(frozen=True)
class QuarantineEntry:
    """A video that gave no clips, and why."""

    path: str
    reason: str


@dataclass
class Listing:
    class_names: list[str]
    videos: list[VideoItem]
    quarantined: list[QuarantineEntry] = field(default_factory=list)


def read_lines(path: Path) -> list[str]:
    """Non-empty lines of a text list, stripped; copes with Windows line endings and a UTF-8 BOM."""
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    return [line.strip() for line in text.splitlines() if line.strip()]


def select_classes(available: list[str], wanted: list[str] | None, where: str) -> list[str]:
    """The classes to ingest in label order: ``wanted`` as given, or all of ``available``.

    Unknown names are one error naming every one of them, so a typo in a
    subset of fifty classes needs one run to find, not fifty. The chosen names
    are checked by :func:`check_class_names`; a bad class left out of
    ``wanted`` does not stop the others.
    """
    if wanted is not None:
        unknown = [c for c in wanted if c not in available]
        if unknown:
            raise LayoutError(f"{where} has no classes {unknown}; it has {len(available)}: {available}")
    chosen = list(available if wanted is None else wanted)
    check_class_names(chosen, where)
    return chosen


def class_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a class name, or None.

    Class names come from files users download (a Kinetics CSV, ``classInd.txt``,
    folder names) and travel into the index, the card and file names, so a
    name that is a path (``../x``, ``/tmp/x``), holds control characters or is
    not UTF-8 is refused before anything is decoded. Spaces and punctuation
    (``passing American football (in game)``) are fine.
    """
    if not name.strip():
        return "is empty"
    if name in (".", ".."):
        return "is a relative folder name"
    if "/" in name or "\\" in name:
        return "holds a path separator"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "holds a control character"
    if any(0xD800 <= ord(c) <= 0xDFFF for c in name):
        return "is not UTF-8 text"
    return None


def check_class_names(names: list[str], where: str) -> None:
    """One :class:`LayoutError` naming every class name of ``where`` that :func:`class_name_problem` refuses."""
    bad = [f"{name!r} {problem}" for name in names if (problem := class_name_problem(name))]
    if bad:
        raise LayoutError(f"{where}: unusable class names: {'; '.join(bad)}. Rename them, or leave them out with "
                          "--source-classes")


def is_video(name: str) -> bool:
    return name.lower().endswith(VIDEO_EXTENSIONS)


def require_dir(path: Path, what: str, expected: str) -> Path:
    """``path`` if it is a folder, else one error that says what the folder should have held."""
    if not path.is_dir():
        raise LayoutError(f"{what} {path} is not a folder; expected {expected}")
    return path


def files_fingerprint(paths: list[Path]) -> list[tuple[str, int, int]]:
    """(relative path, size, mtime) of every video and list file under ``paths``: cheap, no file is read.

    A changed, added or removed file changes the result, which is what keys
    the ingest cache; a path that does not exist is recorded as missing.
    """
    entries = []
    for top in paths:
        entries.append((str(top), 0, 0))
        if top.is_file():
            st = top.stat()
            entries.append(("", st.st_size, st.st_mtime_ns))
            continue
        if not top.is_dir():
            entries.append(("", -1, -1))
            continue
        for folder, dirs, files in os.walk(top):
            dirs.sort()
            for name in sorted(files):
                if is_video(name) or name.lower().endswith((".txt", ".csv")):
                    full = os.path.join(folder, name)
                    st = os.stat(full)
                    entries.append((os.path.relpath(full, top), st.st_size, st.st_mtime_ns))
    return entries


class CaseInsensitiveFolder:
    """Finds ``<folder>/<rel>`` even when the case of a name differs from the disk's.

    Lists written on case-insensitive file systems do not always match the
    case on disk; each folder is listed once, on first use.
    """

    def __init__(self, root: Path):
        self.root = root
        self._names: dict[Path, dict[str, str]] = {}

    def find(self, rel: str) -> Path | None:
        """The file at ``rel``, or None."""
        path = self._resolve(rel)
        return path if path is not None and path.is_file() else None

    def find_dir(self, rel: str) -> Path | None:
        """The folder at ``rel``, or None."""
        path = self._resolve(rel)
        return path if path is not None and path.is_dir() else None

    def _resolve(self, rel: str) -> Path | None:
        exact = self.root / rel
        if exact.exists():
            return exact
        here = self.root
        for part in Path(rel).parts:
            names = self._names.get(here)
            if names is None:
                names = {p.name.lower(): p.name for p in here.iterdir()} if here.is_dir() else {}
                self._names[here] = names
            if part.lower() not in names:
                return None
            here = here / names[part.lower()]
        return here
