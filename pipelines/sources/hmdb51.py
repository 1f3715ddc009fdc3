"""HMDB-51: ``<root>/<class>/<video>.avi`` and the per-class split files of the release.

Split ``k`` is 51 files ``<class>_test_split<k>.txt`` (in the release's
``testTrainMulti_7030_splits/``), one ``<video>.avi <0|1|2>`` per line:
1 = train, 2 = test, 0 = not used in that split. Class names come from the
split files' names, sorted, which also fixes the label order.
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
from schemas.config import HMDB51Source

SPLITS_DIR = "testTrainMulti_7030_splits"
EXPECTED = (
    "the HMDB-51 layout: <root>/<class>/<video>.avi (root is the folder holding brush_hair/ ...) and the split files "
    f"<class>_test_split<k>.txt in {SPLITS_DIR}/ inside or beside root"
)
_SPLIT_OF_FLAG = {"1": "train", "2": "test"}


def _suffix(split: int) -> str:
    return f"_test_split{split}.txt"


def _candidates(source: HMDB51Source, root: Path) -> list[Path]:
    if source.splits_dir:
        return [Path(source.splits_dir).expanduser()]
    return [root / SPLITS_DIR, root.parent / SPLITS_DIR, root, root.parent]


def splits_dir(source: HMDB51Source, root: Path) -> Path:
    """The folder holding the split files of ``source.split``, or one error naming every place looked in."""
    candidates = _candidates(source, root)
    for folder in candidates:
        if folder.is_dir() and any(folder.glob(f"*{_suffix(source.split)}")):
            return folder
    looked = ", ".join(str(c) for c in candidates)
    raise LayoutError(
        f"no HMDB-51 split files *{_suffix(source.split)}: looked in {looked}; expected {EXPECTED} "
        "(or set --source-splits-dir)"
    )


def inputs(source: HMDB51Source) -> list[Path]:
    """The folders the listing reads, for the ingest cache's fingerprint; just ``root`` when it is not the layout."""
    root = Path(source.root).expanduser()
    try:
        return [root, splits_dir(source, require_dir(root, "HMDB-51 root", EXPECTED))]
    except LayoutError:
        return [root]


def list_videos(source: HMDB51Source) -> Listing:
    root = require_dir(Path(source.root).expanduser(), "HMDB-51 root", EXPECTED)
    lists = splits_dir(source, root)
    suffix = _suffix(source.split)
    split_files = {p.name[: -len(suffix)]: p for p in sorted(lists.glob(f"*{suffix}"))}
    all_classes = sorted(split_files)
    folders = CaseInsensitiveFolder(root)
    if not any(folders.find_dir(c) for c in all_classes):
        raise LayoutError(f"{root} holds none of the {len(all_classes)} class folders named by {lists} "
                          f"(such as {all_classes[0]}/); expected {EXPECTED}")
    classes = select_classes(all_classes, source.classes, f"HMDB-51 ({lists})")

    items, quarantined = [], []
    for label, name in enumerate(classes):
        for line in read_lines(split_files[name]):
            video, _, flag = line.rpartition(" ")
            if flag == "0":
                continue  # not part of this split
            rel = f"{name}/{video.strip()}"
            split = _SPLIT_OF_FLAG.get(flag)
            if split is None or not video.strip():
                quarantined.append(QuarantineEntry(str(root / rel), f"{split_files[name].name}: line {line!r} is not '<video> <0|1|2>'"))
                continue
            path = folders.find(rel)
            if path is None:
                quarantined.append(QuarantineEntry(str(root / rel), f"listed in {split_files[name].name} but not found"))
                continue
            items.append(VideoItem(str(path), path.relative_to(root).as_posix(), label, name, split))
    items.sort(key=lambda v: (v.label, v.source_path))
    return Listing(classes, items, quarantined)
