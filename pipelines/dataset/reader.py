"""Reading a clip dataset back: a PyTorch ``Dataset`` that seeks each clip by its index row.

Works on a published version, on a candidate and on the real clip dataset alike,
since they share one layout. Nothing here needs Beam or Prefect.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.dataset.index_io import IndexFileError, column_problems, read_index
from pipelines.dataset.shards import read_member, sha256_bytes
from schemas.layout import INDEX, LATEST, VERSION_PATTERN

class ClipIntegrityError(ValueError):
    """A damaged dataset: a clip whose bytes do not match its sha256, an unusable index row, a bad ``latest``."""


def resolve_version(path: str | os.PathLike) -> Path:
    """A version folder from either itself or a dataset folder (whose ``latest`` file names one).

    ``latest`` must name a version folder of that dataset (``vNNNN``, see
    :data:`schemas.layout.VERSION_PATTERN`): ``../elsewhere`` or an absolute
    path in it is damage or an attack, never followed.
    """
    path = Path(path).expanduser()
    if (path / INDEX).is_file():
        return path
    latest = path / LATEST
    if latest.is_file():
        try:
            name = latest.read_bytes()[:256].decode("utf-8").strip()
        except (UnicodeDecodeError, OSError) as exc:
            raise ClipIntegrityError(f"{latest} cannot be read as a version name: {exc}") from exc
        if not VERSION_PATTERN.match(name):
            raise ClipIntegrityError(f"{latest} names {name!r}, not a version folder of {path} (vNNNN)")
        version = path / name
        if version.is_symlink() or not (version / INDEX).is_file():
            raise ClipIntegrityError(f"{latest} names {name}, which is not a version folder with an {INDEX}")
        return version
    raise FileNotFoundError(f"{path} is neither a dataset version (no {INDEX}) nor a dataset (no {LATEST!r})")


def class_names(path: str | os.PathLike) -> list[str]:
    """Label ``i``'s name at position ``i``, read from a version's index (its ``label`` and ``label_name`` columns).

    Every label from 0 to the largest must have a clip with one name, else the
    labels cannot be named and this is an error: the jobs that write datasets
    refuse a class without clips, so a gap means a damaged index.
    """
    root = resolve_version(path)
    pairs = read_index(root / INDEX).select(["label", "label_name"]).group_by(["label", "label_name"]).aggregate([])
    names: dict[int, set[str]] = {}
    for row in pairs.to_pylist():
        names.setdefault(row["label"], set()).add(row["label_name"])
    problems = [f"label {i} has names {sorted(names[i])}" for i in names if len(names[i]) != 1]
    missing = [i for i in range(max(names, default=-1) + 1) if i not in names]
    if problems or missing or not names:
        raise ValueError(f"{root / INDEX}: labels cannot be named: {problems or ''} {f'no clips of labels {missing}' if missing else ''}".strip())
    return [next(iter(names[i])) for i in range(len(names))]


class ClipDataset:
    """Map-style dataset of ``(uint8 tensor (T, H, W, 3), label)`` over one dataset version.

    Each item is one ``seek`` + ``read`` of the mp4 bytes inside its tar shard,
    checked against the index's sha256 before decoding, so a corrupted shard is
    reported by name instead of training on garbage. Items are in key order
    (class by class, then clip number), whatever the shard size the dataset
    was written with.
    """

    def __init__(self, path: str | os.PathLike, split: str | None = None, labels: list[int] | None = None, verify: bool = True):
        self.root = resolve_version(path)
        try:
            table = read_index(self.root / INDEX)
        except IndexFileError as exc:
            raise ClipIntegrityError(str(exc)) from exc
        columns = ["key", "label", "label_name", "shard", "offset", "size", "sha256"]
        problems = column_problems(table, columns + ["split"])
        if problems:
            raise ClipIntegrityError(f"{self.root / INDEX}: {'; '.join(problems)}")
        if split is not None:
            table = table.filter(pc.equal(table["split"], split))
        if labels is not None:
            table = table.filter(pc.is_in(table["label"], value_set=pa.array(labels, pa.int32())))
        # where each clip came from, when the index says (the procedural set's rows name what renders them again)
        columns += [c for c in ("source_path",) if c in table.column_names]
        self.rows = table.select(columns).sort_by("key").to_pylist()
        self.verify = verify

    def __len__(self) -> int:
        return len(self.rows)

    def first_per_class(self, k: int) -> ClipDataset:
        """A view of the first ``k`` clips of every class, in key order: the k-shot subset.

        Key order is fixed when the dataset is planned, so the subsets are
        nested (the 5-shot set lies inside the 10-shot set) and the same on
        every run. A class with fewer than ``k`` clips is an error, since a
        k-shot experiment on it would silently be a smaller one.
        """
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        seen: dict[int, int] = {}
        rows = []
        for row in self.rows:
            seen[row["label"]] = seen.get(row["label"], 0) + 1
            if seen[row["label"]] <= k:
                rows.append(row)
        short = {label: n for label, n in seen.items() if n < k}
        if short:
            raise ValueError(f"{self.root} has fewer than {k} clips for labels {short}")
        return self._view(rows)

    def subset(self, indices: Sequence[int]) -> ClipDataset:
        """A view of the clips at ``indices`` (positions in this dataset), in that order.

        For selections the index columns cannot express, such as keeping the
        synthetic clips that a classifier of one's own labels as intended.
        """
        return self._view([self.rows[i] for i in indices])

    def _view(self, rows: list[dict]) -> ClipDataset:
        view = copy.copy(self)
        view.rows = rows
        return view

    def read_bytes(self, i: int) -> bytes:
        row = self.rows[i]
        shard = (self.root / row["shard"]).resolve()
        if not shard.is_relative_to(self.root.resolve()):
            raise ClipIntegrityError(f"clip {row['key']} names shard {row['shard']!r}, outside {self.root}")
        try:
            data = read_member(shard, row["offset"], row["size"])
        except (OSError, ValueError) as exc:
            raise ClipIntegrityError(f"clip {row['key']} cannot be read from {row['shard']}: {exc}") from exc
        if self.verify and sha256_bytes(data) != row["sha256"]:
            raise ClipIntegrityError(f"clip {row['key']} in {row['shard']} does not match its sha256 in the index")
        return data

    def video(self, i: int) -> np.ndarray:
        """The clip as uint8 numpy (T, H, W, 3)."""
        from pipelines.media.video_io import decode_video  # PyAV only where clips are decoded, not for in-memory sets

        return decode_video(self.read_bytes(i))

    def __getitem__(self, i: int):
        import torch

        return torch.from_numpy(self.video(i)), int(self.rows[i]["label"])

    @property
    def class_names(self) -> dict[int, str]:
        """``label -> label_name`` of the classes this dataset (or view) holds."""
        return {row["label"]: row["label_name"] for row in self.rows}

    @property
    def labels(self) -> list[int]:
        return [int(r["label"]) for r in self.rows]
