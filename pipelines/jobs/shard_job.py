"""Turn one planned shard into a finished tar and its index part, or reuse a finished one.

This is the unit of work of every per-clip pipeline (ingest and generation):
clips arrive from a producer (a renderer, a decoder, a generator), are encoded
to H.264 on a thread pool while the producer makes the next ones, and are
written as one atomic tar plus a Parquet part with one index row per clip.
A :class:`ShardWriter` finishes each shard (its last encodes, the tar, the
part) on another thread while the producer already makes the next shard, so
the producer never waits for a shard's tail or its disk writes.

A shard counts as finished only when its part exists and names the sha256 of
the tar beside it, so a re-run after a crash skips finished shards by checksum
rather than by existence, and redoes anything half-made.

A producer of real clips may hand over :class:`Quarantined` instead of a
video's clips when the video is unusable; the part then records which planned
keys were skipped and why, so a resumed run knows the shard is complete
without decoding the bad video again.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import pyarrow.parquet as pq

from evaluation.clip_stats import flicker, motion
from pipelines.dataset.index_io import IndexFileError, read_metadata, write_index
from pipelines.jobs.plan import ClipTask, ShardTask
from pipelines.dataset.shards import ShardMember, sha256_file, write_shard
from schemas.atomic import remove_stale_temporaries
from schemas import layout
from pipelines.media.video_io import DEFAULT_PRESET, encode_mp4

log = logging.getLogger(__name__)

_TAR_SHA_KEY = "vgan.shard_sha256"
_QUARANTINE_KEY = "vgan.quarantined"


@dataclass
class ProducedClip:
    """What a producer hands over: the planned clip, its pixels, and origin-specific index fields."""

    task: ClipTask
    video: np.ndarray  # uint8 (T, H, W, 3)
    fields: dict
    boxes: np.ndarray | None = None  # float32 (T, 4) or None


@dataclass
class Quarantined:
    """What a producer hands over instead of a source's planned clips when it cannot make them."""

    keys: tuple[str, ...]
    path: str
    reason: str


class ShardJob:
    """Writes shards and index parts under ``out_dir`` for clips of one format (through a :class:`ShardWriter`)."""

    def __init__(self, out_dir: str | os.PathLike, origin: str, fps: float, crf: int = 18,
                 preset: str = DEFAULT_PRESET, encode_threads: int = 2):
        self.out_dir = Path(out_dir)
        self.origin = origin
        self.fps = fps
        self.crf, self.preset = crf, preset
        self.encode_threads = encode_threads

    @property
    def parts_dir(self) -> Path:
        return self.out_dir / layout.PARTS_DIR

    def part_path(self, shard_id: int) -> Path:
        return self.parts_dir / layout.part_name(shard_id)

    def shard_path(self, shard_id: int) -> Path:
        return self.out_dir / layout.shard_path(shard_id)

    def remove_stale_temporaries(self) -> None:
        """Delete temporary files that a killed run left behind; finished files never have such names."""
        for folder in (self.out_dir, self.out_dir / layout.SHARDS_DIR, self.parts_dir):
            for tmp in remove_stale_temporaries(folder):
                log.info("removed %s, left by an interrupted run", tmp)

    def finished(self, shard: ShardTask) -> bool:
        """True when the shard's part holds the planned keys and the tar on disk has the checksum it recorded.

        The key check makes a part left by another plan (say, another shard
        size in the same folder) count as unfinished, so it is redone rather
        than merged, and no key reaches the index twice.
        """
        part, tar = self.part_path(shard.shard_id), self.shard_path(shard.shard_id)
        if not (part.is_file() and tar.is_file()):
            return False
        try:
            meta = read_metadata(part)
            skipped = {k for q in json.loads(meta.get(_QUARANTINE_KEY, "[]")) for k in q["keys"]}
            keys = pq.read_table(part, columns=["key"]).column("key").to_pylist()
        except (OSError, IndexFileError, ValueError, KeyError, TypeError):
            return False
        return _matches_plan(shard, keys, skipped) and meta.get(_TAR_SHA_KEY) == sha256_file(tar)

    def quarantined(self, shard_id: int) -> list[dict]:
        """What the finished shard's part says was skipped: ``{"path", "reason", "keys"}`` per source."""
        return json.loads(read_metadata(self.part_path(shard_id)).get(_QUARANTINE_KEY, "[]"))

    def collect(self, shard: ShardTask, produce: Iterable[ProducedClip | Quarantined], encoder: ThreadPoolExecutor):
        """Run the producer, handing each clip to ``encoder`` as it arrives; check the keys against the plan."""
        produced: list[ProducedClip] = []
        skipped: list[Quarantined] = []
        futures: list[Future] = []
        for item in produce:
            if isinstance(item, Quarantined):
                skipped.append(item)
                continue
            produced.append(item)
            futures.append(encoder.submit(encode_mp4, item.video, self.fps, self.crf, self.preset))
        got = [c.task.key for c in produced]
        if not _matches_plan(shard, got, {k for q in skipped for k in q.keys}):
            planned = [t.key for t in shard.clips]
            raise RuntimeError(f"{shard.name}: producer made keys {got[:3]}..., the plan says {planned[:3]}...")
        return produced, skipped, futures

    def finish(
        self, shard: ShardTask, produced: list[ProducedClip], skipped: list[Quarantined], futures: list[Future]
    ) -> Path:
        """Wait for the shard's encodes, then write its tar and, last, its index part."""
        stats = [_clip_stats(c) for c in produced]
        members = [ShardMember(c.task.key, f.result(), self._sidecar(c, s)) for c, f, s in zip(produced, futures, stats)]
        tar = self.shard_path(shard.shard_id)
        written = write_shard(tar, members)
        rows = [self._row(c, w, shard, s) for c, w, s in zip(produced, written, stats)]
        meta = {_TAR_SHA_KEY: sha256_file(tar)}
        if skipped:
            meta[_QUARANTINE_KEY] = json.dumps(
                [{"path": q.path, "reason": q.reason, "keys": list(q.keys)} for q in skipped]
            )
        part = write_index(rows, self.part_path(shard.shard_id), meta)
        log.info("wrote %s (%d clips, %d sources quarantined)", tar, len(rows), len(skipped))
        return part

    def _row(self, clip: ProducedClip, written, shard: ShardTask, stats: dict) -> dict:
        t, h, w, _ = clip.video.shape
        return {
            "key": clip.task.key,
            "label": clip.task.label,
            "label_name": clip.task.label_name,
            "origin": self.origin,
            "split": clip.task.split,
            "shard": layout.shard_path(shard.shard_id),
            "offset": written.offset,
            "size": written.size,
            "sha256": written.sha256,
            "frames": t,
            "height": h,
            "width": w,
            "fps": self.fps,
            "codec": "h264",
            **stats,
            **clip.fields,
        }

    def _sidecar(self, clip: ProducedClip, stats: dict) -> dict:
        """The clip's JSON member: what a WebDataset reader sees without the index.

        Everything known when the shard is written: label, provenance, the raw
        pixels' motion and flicker, and the per-frame boxes (``x0, y0, x1, y1``
        in pixels, right/bottom edges exclusive; ``null`` for a frame with no
        foreground, since JSON has no NaN). The judge's columns are filled by
        the quality gate after generation and live in the index only.
        """
        t, h, w, _ = clip.video.shape
        boxes = stats["boxes"]
        json_boxes = None if boxes is None else [None if any(v != v for v in box) else box for box in boxes]
        return {
            "label": clip.task.label,
            "label_name": clip.task.label_name,
            "origin": self.origin,
            "split": clip.task.split,
            "frames": t,
            "height": h,
            "width": w,
            "fps": self.fps,
            "motion": stats["motion"],
            "flicker": stats["flicker"],
            "boxes": json_boxes,
            **clip.fields,
        }


def _clip_stats(clip: ProducedClip) -> dict:
    """Motion and flicker of the raw pixels and the per-frame boxes, computed once for the index row and the JSON."""
    return {
        "flicker": float(flicker(clip.video)),
        "motion": float(motion(clip.video)),
        # NaN marks a frame with no foreground.
        "boxes": None if clip.boxes is None else clip.boxes.astype(np.float32).tolist(),
    }


def _matches_plan(shard: ShardTask, made: list[str], skipped: set[str]) -> bool:
    """Whether the keys made, in order, and those skipped are exactly the shard's planned keys."""
    return skipped <= {t.key for t in shard.clips} and made == [t.key for t in shard.clips if t.key not in skipped]


class ShardWriter:
    """Makes shards one after another, finishing each while the producer makes the next.

    ``submit`` runs the producer in the calling thread and hands each clip to
    the encode pool as it arrives. The shard's remaining encodes, its tar and
    its index part are then done on a finishing thread, and ``submit`` returns
    as soon as the previous shard is finished: at most one shard is finishing
    while the next is produced, so at most two shards' clips are in memory.
    The pool is shared by consecutive shards, so encoding does not drain to
    zero at every shard boundary.
    """

    def __init__(self, job: ShardJob, encode_threads: int | None = None, background: bool = False):
        """``encode_threads`` overrides the job's own count (a producer may know better how many cores it leaves).

        ``background`` runs the encode and finishing threads at the lowest CPU
        priority, for a producer that keeps every core busy itself (the
        generator on CPU): they then take only the cycles it leaves, instead of
        stalling its threads, which meet at a barrier after every operator.
        The two-shard limit is the back-pressure: when they fall behind, the
        producer waits in :meth:`drain` and they get the cores. Linux only,
        where a thread's nice value is its own; elsewhere it is ignored.
        """
        self.job = job
        lower = _lower_thread_priority if background and sys.platform == "linux" else None
        self._encoder = ThreadPoolExecutor(encode_threads or job.encode_threads, "encode", initializer=lower)
        self._finisher = ThreadPoolExecutor(1, "finish-shard", initializer=lower)
        self._pending: Future | None = None

    def submit(self, shard: ShardTask, produce: Iterable[ProducedClip | Quarantined]) -> list[Path]:
        """Produce ``shard`` and start finishing it; return the index parts of shards finished meanwhile."""
        collected = self.job.collect(shard, produce, self._encoder)
        done = self.drain()
        self._pending = self._finisher.submit(self.job.finish, shard, *collected)
        return done

    def drain(self) -> list[Path]:
        """Wait until the shard being finished (if any) is written; return its index part."""
        pending, self._pending = self._pending, None
        return [pending.result()] if pending is not None else []

    def close(self) -> None:
        """Stop the threads; a shard being finished is completed, queued encodes are dropped."""
        self._finisher.shutdown(wait=True)
        self._encoder.shutdown(wait=True, cancel_futures=True)


def _lower_thread_priority() -> None:
    """Give the calling thread (not the process: Linux keeps a nice value per thread) the lowest CPU priority."""
    os.setpriority(os.PRIO_PROCESS, 0, 19)
