"""Publishing: a validated candidate becomes an immutable version folder, then ``latest`` moves.

Order of events, each step atomic: previews, checksums and the dataset card are
written into the candidate; under a lock the next version number is taken, the
manifest written, the candidate folder renamed to ``vNNNN`` and only then
``latest`` replaced. A reader therefore sees either the old version or the
complete new one, and two runs publishing at once get different numbers.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from pipelines.release.preview import animated_preview, contact_sheet
from pipelines.dataset.index_io import read_index
from pipelines.dataset.reader import ClipDataset
from pipelines.dataset.shards import sha256_file
from schemas.atomic import write_text_atomic
from schemas.layout import CARD, INDEX, LATEST, MANIFEST, PARTS_DIR, PREVIEW_DIR, SHARDS_DIR, VERSION_PATTERN, version_name
from schemas.manifest import FileEntry, Manifest

_LOCK = ".publish.lock"


def published_versions(dataset_dir: str | os.PathLike) -> list[str]:
    root = Path(dataset_dir)
    if not root.is_dir():
        return []
    return sorted((p.name for p in root.iterdir() if VERSION_PATTERN.match(p.name)), key=lambda n: int(n[1:]))


def write_previews(version_dir: Path, class_names: list[str], per_class: int, fps: float, boxes: bool = False) -> list[Path]:
    """One contact sheet (PNG) per class and one animated GIF per class under ``preview/``.

    With ``boxes`` the sheets draw every actor's box and track id (surveillance
    clips), on frames enlarged to at least 128 pixels so the labels fit.
    """
    data = ClipDataset(version_dir)
    actors = _actors_by_key(version_dir) if boxes else {}
    by_label: dict[int, list[int]] = {}
    for i, label in enumerate(data.labels):
        by_label.setdefault(label, []).append(i)
    out = []
    for label, items in sorted(by_label.items()):
        name = class_names[label]
        videos = [data.video(i) for i in items[:per_class]]
        tracks = [actors.get(data.rows[i]["key"]) for i in items[:per_class]] if boxes else None
        scale = max(1, -(-128 // videos[0].shape[1])) if boxes else 1
        out.append(contact_sheet(videos, f"{label}: {name}", version_dir / PREVIEW_DIR / f"{name}.png",
                                 tracks=tracks, scale=scale))
        out.append(animated_preview(videos[0], version_dir / PREVIEW_DIR / f"{name}.gif", fps))
    return out


def _actors_by_key(version_dir: Path) -> dict[str, list[dict] | None]:
    table = read_index(version_dir / INDEX).select(["key", "actors"])
    return {row["key"]: row["actors"] for row in table.to_pylist()}


def checksums(version_dir: Path) -> tuple[FileEntry, list[FileEntry]]:
    """sha256 and size of the index and of every shard, as the manifest lists them."""

    def entry(path: Path) -> FileEntry:
        return FileEntry(path=path.relative_to(version_dir).as_posix(), sha256=sha256_file(path), bytes=path.stat().st_size)

    shards = sorted((version_dir / SHARDS_DIR).glob("*.tar"))
    return entry(version_dir / INDEX), [entry(s) for s in shards]


@contextmanager
def _publish_lock(dataset_dir: Path):
    dataset_dir.mkdir(parents=True, exist_ok=True)
    with open(dataset_dir / _LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def publish_version(candidate: Path, dataset_dir: str | os.PathLike, make_manifest: Callable[[str], Manifest], card: Callable[[Manifest], str]) -> Path:
    """Turn ``candidate`` into the next version of ``dataset_dir`` and point ``latest`` at it.

    ``make_manifest(version)`` builds the manifest once the version number is
    known; ``card(manifest)`` renders the dataset card from it.
    """
    dataset_dir = Path(dataset_dir)
    candidate = Path(candidate)
    if not (candidate / INDEX).is_file():
        raise FileNotFoundError(f"candidate {candidate} has no {INDEX}; nothing to publish")
    shutil.rmtree(candidate / PARTS_DIR, ignore_errors=True)
    with _publish_lock(dataset_dir):
        existing = published_versions(dataset_dir)
        version = version_name(int(existing[-1][1:]) + 1 if existing else 1)
        manifest = make_manifest(version)
        write_text_atomic(candidate / MANIFEST, json.dumps(manifest.model_dump(mode="json"), indent=2) + "\n")
        write_text_atomic(candidate / CARD, card(manifest))
        final = dataset_dir / version
        os.rename(candidate, final)
        write_text_atomic(dataset_dir / LATEST, version + "\n")
    return final
