"""UCF-101 as released: ``UCF-101/<Class>/v_<Class>_gNN_cNN.avi`` and ``ucfTrainTestlist/``.

What the real release contains, and how it is handled:

* ``classInd.txt`` numbers classes from 1 (``1 ApplyEyeMakeup``); labels here
  are positions in that order (or in the order of a requested subset).
* ``trainlist0k.txt`` lines carry a label (``Class/v_..._g08_c01.avi 1``),
  ``testlist0k.txt`` lines do not; all lists end lines with ``\\r\\n``.
* The class of an entry is its folder, never the class part of the file name:
  the folder ``HandstandPushups`` holds ``v_HandStandPushups_gNN_cNN.avi``.
  A listed path is looked up exactly, then without regard to case.
* The user may name the folder of class folders or its parent (which holds
  ``UCF-101/``); the lists are looked for in and beside it.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.sources.listing import (
    CaseInsensitiveFolder,
    LayoutError,
    Listing,
    QuarantineEntry,
    VideoItem,
    read_lines,
    require_dir,
    select_classes,
)
from schemas.config import UCF101Source

RELEASE_DIR = "UCF-101"
LISTS_DIR = "ucfTrainTestlist"
EXPECTED = (
    "the UCF-101 release: <root>/<Class>/v_<Class>_gNN_cNN.avi (root is the folder holding ApplyEyeMakeup/ ..., "
    f"or its parent holding {RELEASE_DIR}/) and {LISTS_DIR}/ with classInd.txt, trainlist0k.txt and testlist0k.txt"
)


def video_root(source: UCF101Source) -> Path:
    """The folder of class folders: ``root`` itself, or ``root/UCF-101`` when the user named its parent."""
    root = require_dir(Path(source.root).expanduser(), "UCF-101 root", EXPECTED)
    nested = root / RELEASE_DIR
    return nested if nested.is_dir() else root


def _list_candidates(source: UCF101Source, videos: Path) -> list[Path]:
    if source.splits_dir:
        return [Path(source.splits_dir).expanduser()]
    root = Path(source.root).expanduser()
    found = [videos / LISTS_DIR, videos.parent / LISTS_DIR, root / LISTS_DIR, videos, root]
    return list(dict.fromkeys(found))


def lists_dir(source: UCF101Source, videos: Path) -> Path:
    """The folder holding ``classInd.txt``, or one error naming every place looked in."""
    candidates = _list_candidates(source, videos)
    for folder in candidates:
        if (folder / "classInd.txt").is_file():
            return folder
    looked = ", ".join(str(c / "classInd.txt") for c in candidates)
    raise LayoutError(f"no UCF-101 split lists: looked for {looked}; expected {EXPECTED} (or set --source-splits-dir)")


def read_class_index(path: Path) -> list[str]:
    """Class names in the order of their (1-based) numbers in ``classInd.txt``."""
    numbered = []
    for line in read_lines(path):
        number, _, name = line.partition(" ")
        if not number.isdigit() or not name.strip():
            raise LayoutError(f"{path}: line {line!r} is not '<number> <ClassName>'")
        numbered.append((int(number), name.strip()))
    if not numbered:
        raise LayoutError(f"{path} lists no classes")
    return [name for _, name in sorted(numbered)]


def inputs(source: UCF101Source) -> list[Path]:
    """The folders the listing reads, for the ingest cache's fingerprint; just ``root`` when it is not the layout."""
    try:
        videos = video_root(source)
        return [videos, lists_dir(source, videos)]
    except LayoutError:
        return [Path(source.root).expanduser()]


def list_videos(source: UCF101Source) -> Listing:
    videos = video_root(source)
    lists = lists_dir(source, videos)
    all_classes = read_class_index(lists / "classInd.txt")
    folders = CaseInsensitiveFolder(videos)
    if not any(folders.find_dir(c) for c in all_classes):
        raise LayoutError(
            f"{videos} holds none of the {len(all_classes)} class folders of {lists / 'classInd.txt'} "
            f"(such as {all_classes[0]}/); expected {EXPECTED}"
        )
    classes = select_classes(all_classes, source.classes, f"UCF-101 ({lists / 'classInd.txt'})")
    by_lower = {c.lower(): c for c in all_classes}

    entries: dict[str, tuple[str, str]] = {}  # relative path -> (split, list file it came from)
    for split, stem in (("train", "trainlist"), ("test", "testlist")):
        list_file = lists / f"{stem}{source.split:02d}.txt"
        if not list_file.is_file():
            raise LayoutError(f"no {list_file}; expected {EXPECTED}")
        for line in read_lines(list_file):
            rel = line.split()[0].replace("\\", "/")
            entries.setdefault(rel, (split, list_file.name))

    items, quarantined = [], []
    for rel, (split, list_name) in sorted(entries.items()):
        class_name = by_lower.get(rel.split("/")[0].lower())
        if class_name is None:
            quarantined.append(QuarantineEntry(str(videos / rel), f"listed in {list_name} under a class not in classInd.txt"))
            continue
        if class_name not in classes:
            continue
        path = folders.find(rel)
        if path is None:
            quarantined.append(QuarantineEntry(str(videos / rel), f"listed in {list_name} but not found"))
            continue
        items.append(VideoItem(str(path), path.relative_to(videos).as_posix(), classes.index(class_name), class_name, split))
    items.sort(key=lambda v: (v.label, v.source_path))
    return Listing(classes, items, quarantined)
