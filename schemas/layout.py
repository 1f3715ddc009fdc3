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
        preview/<class>.png|gif
        exports/               surveillance labels for other tools (clips with actors only)
          mot/<key>/           MOTChallenge sequence: seqinfo.ini, gt/gt.txt, img1/000001.jpg ...
          coco-video.json      COCO-style video JSON: videos, images (frames), annotations with track_id
      latest                   names the newest version; moved last
      .candidates/<run_key>/   a version being built (same layout, plus _parts/)
      .cache/<step>-<key>/     real clips, generator and judge of earlier runs

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
VERSION_PATTERN = re.compile(r"^v(\d{4,})$")


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


def cache_dir(dataset_dir: str | Path, step: str, key: str) -> Path:
    """Where a cached step (``real``, ``generator``, ``judge``) keeps its output for configuration ``key``."""
    return Path(dataset_dir) / CACHE / f"{step}-{key}"


def mot_sequence(key: str) -> str:
    """A clip's MOTChallenge sequence folder relative to its version folder."""
    return f"{MOT_DIR}/{key}"
