"""Publishing: a validated candidate becomes an immutable version folder, then ``latest`` moves.

Order of events, each step atomic: previews, checksums and the dataset card are
written into the candidate; under a lock the next version number is taken, the
manifest written, the candidate folder renamed to ``vNNNN`` and only then
``latest`` replaced. A reader therefore sees either the old version or the
complete new one, and two runs publishing at once get different numbers.

A run killed between the rename and the move of ``latest`` leaves a version
that ``latest`` does not name; :func:`finish_or_find_published` lets the next
identical run finish that publish (move ``latest``) instead of publishing a
byte-identical duplicate, and lets a run that waited on :func:`candidate_lock`
for an identical twin return the twin's version.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from pipelines.release.preview import animated_preview, contact_sheet, sheet_scale
from pipelines.dataset.index_io import read_index
from pipelines.dataset.reader import ClipDataset
from pipelines.dataset.shards import sha256_file
from schemas.atomic import remove_stale_temporaries, write_text_atomic
from schemas.layout import (
    CARD, INDEX, LATEST, MANIFEST, PARTS_DIR, SHARDS_DIR, VERSION_PATTERN, candidate_lock_path, preview_path, version_name,
)
from schemas.manifest import FileEntry, Manifest

_LOCK = ".publish.lock"


def published_versions(dataset_dir: str | os.PathLike) -> list[str]:
    root = Path(dataset_dir)
    if not root.is_dir():
        return []
    return sorted((p.name for p in root.iterdir() if VERSION_PATTERN.match(p.name)), key=lambda n: int(n[1:]))


def write_previews(version_dir: Path, class_names: list[str], per_class: int, fps: float,
                   real_dir: Path | None = None, boxes: bool = False) -> list[Path]:
    """One contact sheet (PNG) and one animated GIF per class, at :func:`schemas.layout.preview_path`.

    With ``real_dir`` (the real clips' dataset), each sheet shows that many real
    training clips of the class above the synthetic ones, at least 640 px wide.
    With ``boxes`` the synthetic rows draw every actor's box and track id (surveillance clips).
    """
    data = ClipDataset(version_dir)
    actors = _actors_by_key(version_dir) if boxes else {}
    real = ClipDataset(real_dir, split="train") if real_dir is not None else None
    real_by_name: dict[str, list[int]] = {}
    if real is not None:
        real_names = real.class_names
        for i, label in enumerate(real.labels):
            real_by_name.setdefault(real_names[label], []).append(i)
    by_label: dict[int, list[int]] = {}
    for i, label in enumerate(data.labels):
        by_label.setdefault(label, []).append(i)
    out = []
    for label, items in sorted(by_label.items()):
        name = class_names[label]
        videos = [data.video(i) for i in items[:per_class]]
        real_videos = [real.video(i) for i in real_by_name.get(name, [])[:per_class]]
        tracks = [actors.get(data.rows[i]["key"]) for i in items[:per_class]] if boxes else None
        scale = sheet_scale(videos[0].shape[2])
        if boxes:  # box outlines and track ids need frames of at least 128 px to be read
            scale = max(scale, -(-128 // videos[0].shape[1]))
        out.append(contact_sheet(videos, f"{label}: {name}", preview_path(version_dir, label, name, "png"),
                                 real=real_videos, tracks=tracks, scale=scale))
        out.append(animated_preview(videos[0], preview_path(version_dir, label, name, "gif"), fps))
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
def _lock(path: Path):
    """An exclusive ``flock`` on ``path`` for the block; the kernel drops it when the process dies, even by kill -9."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _publish_lock(dataset_dir: Path):
    return _lock(dataset_dir / _LOCK)


def candidate_lock(dataset_dir: str | os.PathLike, run_key: str):
    """Held by a run from generating its candidate to publishing it.

    Identical runs (same configuration and checkpoint) share one candidate
    folder; without this the first to publish renamed the folder away under
    the other. With it the second waits, then finds the first's version with
    :func:`finish_or_find_published`.
    """
    return _lock(candidate_lock_path(dataset_dir, run_key))


def read_latest(dataset_dir: str | os.PathLike) -> str | None:
    """The version ``latest`` names, if it names one."""
    try:
        name = (Path(dataset_dir) / LATEST).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return name if VERSION_PATTERN.match(name) else None


def _manifest(version: Path) -> Manifest | None:
    try:
        return Manifest.model_validate_json((version / MANIFEST).read_bytes())
    except (OSError, ValueError):
        return None


def finish_or_find_published(
    dataset_dir: str | os.PathLike, same_run: Callable[[Manifest], bool], published_before: list[str]
) -> Path | None:
    """The version an identical run already published, with ``latest`` moved to it if a kill left it behind; or None.

    ``same_run(manifest)`` says whether a version came from this run's
    configuration and checkpoint. Two cases count, under the publish lock:
    a version published since ``published_before`` was taken (a twin run
    finished while this one waited), and the newest version when ``latest``
    does not name it (a run was killed between the rename and the move of
    ``latest``; it is finished now). An older identical version that
    ``latest`` has moved past is not reused: re-running on purpose publishes anew.
    """
    dataset_dir = Path(dataset_dir)
    with _publish_lock(dataset_dir):
        remove_stale_temporaries(dataset_dir)
        versions = published_versions(dataset_dir)
        latest = read_latest(dataset_dir)
        fresh = [v for v in versions if v not in published_before]
        if versions and latest != versions[-1]:
            fresh.append(versions[-1])
        for name in sorted(set(fresh), key=lambda n: int(n[1:]), reverse=True):
            manifest = _manifest(dataset_dir / name)
            if manifest is not None and same_run(manifest):
                if latest is None or int(latest[1:]) < int(name[1:]):
                    write_text_atomic(dataset_dir / LATEST, name + "\n")
                return dataset_dir / name
    return None


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
        remove_stale_temporaries(dataset_dir)  # a .latest.tmp-* of a writer killed while holding this lock
        existing = published_versions(dataset_dir)
        version = version_name(int(existing[-1][1:]) + 1 if existing else 1)
        manifest = make_manifest(version)
        write_text_atomic(candidate / MANIFEST, json.dumps(manifest.model_dump(mode="json"), indent=2) + "\n")
        write_text_atomic(candidate / CARD, card(manifest))
        final = dataset_dir / version
        os.rename(candidate, final)
        write_text_atomic(dataset_dir / LATEST, version + "\n")
    return final
