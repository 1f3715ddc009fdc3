"""Re-check a published version against its own manifest and index, and say what is wrong.

Everything a version promises is checked independently: the manifest's
checksums of every shard and of the index, the index's checksum, byte range and
decodability of every clip, and that each tar holds only well-formed
``<key>.mp4`` / ``<key>.json`` members (no paths that would escape a folder on
extraction). Problems are collected, not raised, so one run lists them all.
"""

from __future__ import annotations

import logging
import os
import random
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from pipelines.dataset.index_io import IndexFileError, read_index
from pipelines.dataset.reader import resolve_version
from pipelines.dataset.shards import KEY_PATTERN, sha256_bytes, sha256_file
from pipelines.media.video_io import VideoDecodeError, decode_video
from schemas.layout import INDEX, MANIFEST, SHARDS_DIR
from schemas.manifest import Manifest

log = logging.getLogger(__name__)


@dataclass
class VerifyReport:
    version: Path
    files_checked: int = 0
    clips_checked: int = 0
    clips_decoded: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_version(path: str | os.PathLike, decode_sample: int | None = None, seed: int = 0) -> VerifyReport:
    """Check the version at ``path`` (or the one its dataset's ``latest`` names).

    Every clip's bytes are checked against its sha256; ``decode_sample`` limits
    how many clips are also decoded (None decodes all of them).
    """
    root = resolve_version(path)
    report = VerifyReport(root)
    manifest = _manifest(root, report)
    if manifest is not None:
        _check_files(root, manifest, report)
    try:
        rows = read_index(root / INDEX).to_pylist()
    except IndexFileError as exc:
        report.problems.append(str(exc))
        return report
    if manifest is not None and len(rows) != manifest.clips:
        report.problems.append(f"index has {len(rows)} rows, the manifest promises {manifest.clips} clips")
    shards = sorted({r["shard"] for r in rows})
    for shard in shards:
        _check_members(root, shard, report)
    decode = set(range(len(rows)))
    if decode_sample is not None and decode_sample < len(rows):
        decode = set(random.Random(seed).sample(range(len(rows)), decode_sample))
    for i, row in enumerate(rows):
        _check_clip(root, row, i in decode, report)
    log.info("verified %s: %d files, %d clips, %d problems", root, report.files_checked, report.clips_checked, len(report.problems))
    return report


def _manifest(root: Path, report: VerifyReport) -> Manifest | None:
    path = root / MANIFEST
    if not path.is_file():
        report.problems.append(f"{path.name} is missing")
        return None
    try:
        return Manifest.model_validate_json(path.read_text())
    except ValidationError as exc:
        report.problems.append(f"{path.name} does not parse: {exc.errors()[0]['msg']} at {exc.errors()[0]['loc']}")
        return None


def _inside(root: Path, relative: str) -> Path | None:
    path = (root / relative).resolve()
    return path if path.is_relative_to(root.resolve()) else None


def _check_files(root: Path, manifest: Manifest, report: VerifyReport) -> None:
    listed = set()
    for entry in [manifest.index, *manifest.shards]:
        report.files_checked += 1
        path = _inside(root, entry.path)
        listed.add(entry.path)
        if path is None:
            report.problems.append(f"manifest lists {entry.path}, a path outside the version")
        elif not path.is_file():
            report.problems.append(f"{entry.path} is listed in the manifest but missing")
        elif path.stat().st_size != entry.bytes:
            report.problems.append(f"{entry.path} has {path.stat().st_size} bytes, the manifest says {entry.bytes}")
        elif sha256_file(path) != entry.sha256:
            report.problems.append(f"{entry.path} does not match its sha256 in the manifest")
    for tar in sorted((root / SHARDS_DIR).glob("*.tar")):
        if tar.relative_to(root).as_posix() not in listed:
            report.problems.append(f"{tar.relative_to(root).as_posix()} is not listed in the manifest")


def _check_members(root: Path, shard: str, report: VerifyReport) -> None:
    path = _inside(root, shard)
    if path is None or not path.is_file():
        return  # reported per clip
    try:
        with tarfile.open(path) as tar:
            for member in tar.getmembers():
                key, _, ext = member.name.partition(".")
                if not (member.isfile() and KEY_PATTERN.match(key) and ext in ("mp4", "json")):
                    report.problems.append(f"{shard}: unexpected member {member.name!r} (type {member.type!r})")
    except tarfile.TarError as exc:
        report.problems.append(f"{shard} is not a readable tar: {exc}")


def _check_clip(root: Path, row: dict, decode: bool, report: VerifyReport) -> None:
    report.clips_checked += 1
    key = row["key"]
    path = _inside(root, row["shard"])
    if path is None:
        report.problems.append(f"clip {key}: shard {row['shard']!r} is outside the version")
        return
    if not path.is_file():
        report.problems.append(f"clip {key}: shard {row['shard']} is missing")
        return
    if row["offset"] + row["size"] > path.stat().st_size:
        report.problems.append(f"clip {key}: bytes {row['offset']}+{row['size']} run past the end of {row['shard']}")
        return
    with open(path, "rb") as f:
        f.seek(row["offset"])
        data = f.read(row["size"])
    if sha256_bytes(data) != row["sha256"]:
        report.problems.append(f"clip {key}: bytes in {row['shard']} do not match its sha256")
        return
    if decode:
        try:
            video = decode_video(data)
        except VideoDecodeError as exc:
            report.problems.append(f"clip {key}: does not decode ({exc})")
            return
        report.clips_decoded += 1
        expected = (row["frames"], row["height"], row["width"], 3)
        if video.shape != expected:
            report.problems.append(f"clip {key}: decodes to shape {video.shape}, the index says {expected}")
