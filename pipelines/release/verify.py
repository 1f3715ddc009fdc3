"""Re-check a published version against its own manifest and index, and say what is wrong.

Everything a version promises is checked independently: the manifest's
checksums of every shard and of the index, the index's columns, checksum,
byte range and decodability of every clip, and every tar in the version
(named by the index or not): its members must be exactly the index's clips
for that shard, ``<key>.mp4`` + ``<key>.json`` once each, the mp4 member where
the index says, and each sidecar must agree with its row. So a tar reader
(WebDataset, ``tar x``) and :class:`~pipelines.dataset.reader.ClipDataset`
cannot get different clips from a version that verifies. Problems are
collected, not raised, so one run lists them all; a damaged version never
crashes the verifier.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import stat
import tarfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from pipelines.dataset.index_io import IndexFileError, column_problems, read_index
from pipelines.dataset.reader import ClipIntegrityError, resolve_version
from pipelines.dataset.shards import KEY_PATTERN, read_member, sha256_bytes, sha256_file
from pipelines.media.video_io import VideoDecodeError, decode_video
from schemas.layout import INDEX, MANIFEST, SHARD_PATTERN
from schemas.manifest import Manifest

log = logging.getLogger(__name__)

_ROW_COLUMNS = ["key", "label", "label_name", "split", "shard", "offset", "size", "sha256", "frames", "height", "width"]
_SIDECAR_FIELDS = ("key", "sha256", "label", "label_name", "split")
"""Sidecar fields that must equal the index row's: what a tar reader would take as the clip's identity and label."""
_MAX_SIDECAR = 1 << 20


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
    how many clips are also decoded (None decodes all of them, 0 none).
    """
    if decode_sample is not None and (isinstance(decode_sample, bool) or decode_sample < 0):
        raise ValueError(f"decode_sample must be None or a count >= 0, got {decode_sample!r}")
    try:
        root = resolve_version(path)
    except (ClipIntegrityError, FileNotFoundError) as exc:
        return VerifyReport(Path(path), problems=[str(exc)])
    report = VerifyReport(root)
    manifest = _manifest(root, report)
    if manifest is not None:
        _check_files(root, manifest, report)
    try:
        table = read_index(root / INDEX)
    except IndexFileError as exc:
        report.problems.append(str(exc))
        return report
    problems = column_problems(table, _ROW_COLUMNS)
    if problems:
        report.problems.extend(problems)
        return report
    rows = table.select(_ROW_COLUMNS).to_pylist()
    if manifest is not None and len(rows) != manifest.clips:
        report.problems.append(f"index has {len(rows)} rows, the manifest promises {manifest.clips} clips")
    for key, n in Counter(r["key"] for r in rows).items():
        if n > 1:
            report.problems.append(f"clip {key}: {n} rows in the index")
    by_shard: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_shard[row["shard"]].append(row)
    tars = {p.relative_to(root).as_posix() for p in root.rglob("*.tar")}
    tars |= {e.path for e in (manifest.shards if manifest else []) if _inside(root, e.path) is not None}
    for shard in sorted(tars | set(by_shard)):
        _check_members(root, shard, by_shard.get(shard, []), report)
    decode = set(range(len(rows)))
    if decode_sample is not None and decode_sample < len(rows):
        decode = set(random.Random(seed).sample(range(len(rows)), decode_sample))
    for i, row in enumerate(rows):
        _check_clip(root, row, i in decode, report)
    log.info("verified %s: %d files, %d clips, %d problems", root, report.files_checked, report.clips_checked, len(report.problems))
    return report


def _manifest(root: Path, report: VerifyReport) -> Manifest | None:
    path = root / MANIFEST
    if not _regular(path):
        report.problems.append(f"{path.name} is missing (or not a regular file)")
        return None
    try:
        return Manifest.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        report.problems.append(f"{path.name} does not parse: {exc.errors()[0]['msg']} at {exc.errors()[0]['loc']}")
    except (OSError, ValueError) as exc:
        report.problems.append(f"{path.name} cannot be read: {exc}")
    return None


def _regular(path: Path) -> bool:
    """A regular file, not a symlink, FIFO or folder: the only thing a version holds and a reader may open."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


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
        elif not _regular(root / entry.path):
            report.problems.append(f"{entry.path} is listed in the manifest but missing (or not a regular file)")
        elif path.stat().st_size != entry.bytes:
            report.problems.append(f"{entry.path} has {path.stat().st_size} bytes, the manifest says {entry.bytes}")
        elif sha256_file(path) != entry.sha256:
            report.problems.append(f"{entry.path} does not match its sha256 in the manifest")
    for tar in sorted(root.rglob("*.tar")):
        if tar.relative_to(root).as_posix() not in listed:
            report.problems.append(f"{tar.relative_to(root).as_posix()} is not listed in the manifest")


def _check_members(root: Path, shard: str, rows: list[dict], report: VerifyReport) -> None:
    """The tar's members are exactly ``rows``' clips, once each, where and as the index says."""
    path = _inside(root, shard)
    if path is None or not _regular(root / shard):
        return  # reported per clip (or as a manifest entry)
    if not rows:
        report.problems.append(f"{shard} is a tar the index does not name; a tar reader would read its members")
    elif not re.match(SHARD_PATTERN, shard):
        report.problems.append(f"index names shard {shard!r}, not of the form shards/shard-NNNNNN.tar")
    expected = {r["key"]: r for r in rows}
    seen: Counter = Counter()
    try:
        with tarfile.open(path) as tar:
            for member in tar:
                key, _, ext = member.name.partition(".")
                if not (member.isfile() and KEY_PATTERN.match(key) and ext in ("mp4", "json")):
                    report.problems.append(f"{shard}: unexpected member {member.name!r} (type {member.type!r})")
                    continue
                seen[member.name] += 1
                row = expected.get(key)
                if row is None:
                    report.problems.append(f"{shard}: member {member.name!r} is no clip of the index for this shard")
                elif seen[member.name] > 1:
                    report.problems.append(f"{shard}: member {member.name!r} appears {seen[member.name]} times")
                elif ext == "mp4" and (member.offset_data, member.size) != (row["offset"], row["size"]):
                    report.problems.append(f"{shard}: member {member.name!r} lies at {member.offset_data}+{member.size}, "
                                           f"the index says {row['offset']}+{row['size']}")
                elif ext == "json":
                    _check_sidecar(shard, tar, member, row, report)
    except (tarfile.TarError, OSError, ValueError) as exc:
        report.problems.append(f"{shard} is not a readable tar: {exc}")
        return
    for key in sorted(expected):
        missing = [f"{key}.{ext}" for ext in ("mp4", "json") if not seen[f"{key}.{ext}"]]
        if missing:
            report.problems.append(f"{shard}: the index's clip {key} has no member {' or '.join(missing)}")


def _check_sidecar(shard: str, tar: tarfile.TarFile, member: tarfile.TarInfo, row: dict, report: VerifyReport) -> None:
    if member.size > _MAX_SIDECAR:
        report.problems.append(f"{shard}: sidecar {member.name!r} is {member.size} bytes, not a clip's metadata")
        return
    try:
        sidecar = json.loads(tar.extractfile(member).read())
    except (ValueError, OSError, tarfile.TarError) as exc:
        report.problems.append(f"{shard}: sidecar {member.name!r} is not JSON: {exc}")
        return
    differ = [f for f in _SIDECAR_FIELDS if not isinstance(sidecar, dict) or sidecar.get(f) != row[f]]
    if differ:
        report.problems.append(f"{shard}: sidecar {member.name!r} disagrees with the index on {differ}")


def _check_clip(root: Path, row: dict, decode: bool, report: VerifyReport) -> None:
    report.clips_checked += 1
    key = row["key"]
    if not KEY_PATTERN.match(key):
        report.problems.append(f"clip {key!r}: not a valid key")
        return
    path = _inside(root, row["shard"])
    if path is None:
        report.problems.append(f"clip {key}: shard {row['shard']!r} is outside the version")
        return
    if not _regular(root / row["shard"]):
        report.problems.append(f"clip {key}: shard {row['shard']} is missing (or not a regular file)")
        return
    try:
        data = read_member(path, row["offset"], row["size"])
    except (OSError, ValueError) as exc:
        report.problems.append(f"clip {key}: cannot be read: {exc}")
        return
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
