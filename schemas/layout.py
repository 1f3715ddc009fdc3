"""Every path of the dataset contract, named once.

Writers (the shard jobs, publishing, previews), readers (``ClipDataset``), the
verifier and the Great Expectations suite all build their paths here, so the
layout on disk cannot drift between the code that writes it and the code that
checks it::

    <output_root>/<dataset>/
      v0003/                   a published version, immutable
        manifest.json          MANIFEST
        README.md              CARD (the dataset card)
        index.parquet          INDEX
        shards/shard-000000.tar
        validation/            Great Expectations results and Data Docs
        preview/<NNN>-<class>.png|gif   label number and a file-safe form of the class name
        exports/               surveillance labels for other tools (clips with actors only)
          mot/<key>/           MOTChallenge sequence: seqinfo.ini, gt/gt.txt, img1/000001.jpg ...
          coco-video.json      COCO-style video JSON: videos, images (frames), annotations with track_id
      latest                   names the newest version; moved last
      .candidates/<run_key>/   a version being built (same layout, plus _parts/)
      .cache/<step>-<key>/     real clips, generator and judge of earlier runs
      .locks/<run_key>.lock    held by a run from generating its candidate to publishing it

A real clip dataset (what prepare and ingest write) has the same INDEX and
shards, plus ``quarantine.json`` for videos that gave no clips.
"""

from __future__ import annotations

import re
from pathlib import Path

INDEX = "index.parquet"
MANIFEST = "manifest.json"
CARD = "README.md"
SHARDS_DIR = "shards"
SHARD_NAME = "shard-{:06d}.tar"
SHARD_PATTERN = r"^shards/shard-\d{6}\.tar$"
"""What the index's ``shard`` column must match: a path relative to the version folder."""
PARTS_DIR = "_parts"
"""Per-shard index parts of a job in progress; merged into INDEX and removed before publishing."""
VALIDATION_DIR = "validation"
PREVIEW_DIR = "preview"
QUARANTINE = "quarantine.json"
EXPORTS_DIR = "exports"
MOT_DIR = f"{EXPORTS_DIR}/mot"
COCO_VIDEO = f"{EXPORTS_DIR}/coco-video.json"
LATEST = "latest"
CANDIDATES = ".candidates"
CACHE = ".cache"
LOCKS = ".locks"
VERSION_PATTERN = re.compile(r"^v(\d{4,})$")
_NOT_FILE_SAFE = re.compile(r"[^A-Za-z0-9_-]+")
PREVIEW_EXTENSIONS = ("png", "gif")


def shard_path(shard_id: int) -> str:
    """The shard's path relative to its version folder, as the index stores it."""
    return f"{SHARDS_DIR}/{SHARD_NAME.format(shard_id)}"


def part_name(shard_id: int) -> str:
    """File name of a shard's index part under PARTS_DIR."""
    return f"{Path(SHARD_NAME.format(shard_id)).stem}.parquet"


def version_name(number: int) -> str:
    return f"v{number:04d}"


def candidate_dir(dataset_dir: str | Path, run_key: str) -> Path:
    """Where a run builds its version before it is published; hidden from readers of the dataset."""
    return Path(dataset_dir) / CANDIDATES / run_key


def candidate_lock_path(dataset_dir: str | Path, run_key: str) -> Path:
    """The lock file of candidate ``run_key``; beside ``.candidates/``, which holds only candidates."""
    return Path(dataset_dir) / LOCKS / f"{run_key}.lock"


def cache_dir(dataset_dir: str | Path, step: str, key: str) -> Path:
    """Where a cached step (``real``, ``generator``, ``judge``) keeps its output for configuration ``key``."""
    return Path(dataset_dir) / CACHE / f"{step}-{key}"


def preview_path(version_dir: str | Path, label: int, class_name: str, ext: str) -> Path:
    """Where the preview of class ``label`` goes: ``preview/<NNN>-<slug>.<ext>``, always inside ``version_dir``.

    Class names come from files users download (a Kinetics CSV, ``classInd.txt``),
    so one must never become a path as given: ``../../x`` would write outside the
    version. The label number keeps two names with the same slug apart; the slug
    (runs of anything but ``A-Za-z0-9_-`` become ``_``, at most 64 characters)
    only helps a person find the class.
    """
    if ext not in PREVIEW_EXTENSIONS:
        raise ValueError(f"preview extension must be one of {PREVIEW_EXTENSIONS}, got {ext!r}")
    if isinstance(label, bool) or not isinstance(label, int) or label < 0:
        raise ValueError(f"label must be a non-negative integer, got {label!r}")
    slug = _NOT_FILE_SAFE.sub("_", class_name).strip("_")[:64] or "class"
    return Path(version_dir) / PREVIEW_DIR / f"{label:03d}-{slug}.{ext}"


def mot_sequence(key: str) -> str:
    """A clip's MOTChallenge sequence folder relative to its version folder."""
    return f"{MOT_DIR}/{key}"
