"""Ingest: real videos (UCF-101, HMDB-51, Kinetics CSV, class folders) into a real clip dataset.

list (pure Python) -> plan of whole videos per shard -> Beam: decode, resample,
cut, fit, encode -> shards + index.parquet (origin="real") + quarantine.json.

Bad videos never stop a run: a video that cannot give its clips (empty,
truncated, unreadable codec, too short, listed but missing) is recorded with
its reason in ``quarantine.json`` beside the index. Finished shards are reused
by checksum, quarantined videos included, so a re-run decodes nothing twice.

Index rows of real clips carry ``source_path`` (the video's path relative to
the dataset root, as the dataset's own lists write it) and ``start_frame`` (the
clip's first frame in the source video's own frame numbering, at its own rate).
Paths, in the index and the quarantine report, are stored as
:func:`~pipelines.sources.listing.path_text` writes them: a file name that is
not UTF-8 keeps its bytes as ``\\xNN`` escapes, so no name stops the run and
none is stored lossily.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow.parquet as pq

from pipelines.jobs.runner import run_shard_pipeline
from pipelines.sources.listing import QuarantineEntry, path_text
from pipelines.jobs.plan import ShardTask, into_video_shards, plan_videos
from pipelines.jobs.shard_job import ProducedClip, Quarantined, ShardJob
from pipelines.sources import list_videos
from pipelines.media.video_clips import VideoRejected, cut_clips
from schemas.atomic import write_text_atomic
from schemas.layout import INDEX, QUARANTINE
from schemas.config import BeamConfig, ClipFormat, VideoSampling

log = logging.getLogger(__name__)



class NothingIngested(ValueError):
    """Every listed video was quarantined: there is no real clip to train on."""


class VideoProducer:
    """Cuts the clips of a shard's videos; a video that cannot give them is handed over as quarantined."""

    def __init__(self, clip: ClipFormat, sampling: VideoSampling):
        self.clip = clip
        self.sampling = sampling

    def setup(self) -> None:
        pass

    def __call__(self, shard: ShardTask):
        for _, group in itertools.groupby(shard.clips, key=lambda t: (t.label, t.video_index)):
            tasks = list(group)
            video = tasks[0]
            try:
                clips = cut_clips(video.path, self.clip, self.sampling, video.seed, video.time_range)
            except VideoRejected as exc:
                reason = str(exc)
            except Exception as exc:  # noqa: BLE001  one odd file never stops the ingest; its reason is kept
                reason = f"unexpected {type(exc).__name__} while decoding: {exc}"
            else:
                for task, (pixels, start) in zip(tasks, clips):
                    yield ProducedClip(task, pixels, {"source_path": path_text(task.source_path), "start_frame": start})
                continue
            log.warning("quarantined %s: %s", path_text(video.path), reason)
            yield Quarantined(tuple(t.key for t in tasks), path_text(video.path), reason)


@dataclass
class IngestReport:
    """Where the real clip dataset is and what went into it."""

    index: Path
    quarantine: Path
    class_names: list[str]
    videos_ingested: int
    quarantined: list[QuarantineEntry]
    clips: int
    clips_per_split: dict[str, int]


def ingest_videos(
    source, clip: ClipFormat, out_dir: str | os.PathLike, beam_cfg: BeamConfig, shard_size: int = 64,
    required_classes: list[str] | tuple[str, ...] = (),
) -> IngestReport:
    """List ``source``, cut its videos into clips on Beam, and write the real clip dataset into ``out_dir``.

    ``required_classes`` (the classes a run will generate) are checked against
    the listing before any video is decoded. A class none of whose videos gave
    a clip is an error naming it, after the quarantine report is written: a
    generator cannot learn a class it never saw.
    """
    out_dir = Path(out_dir)
    listing = list_videos(source)
    unknown = [c for c in required_classes if c not in listing.class_names]
    if unknown:
        raise ValueError(f"generate.counts names classes {unknown} that {source.root} does not have; "
                         f"it has {len(listing.class_names)}: {listing.class_names}")
    log.info("%s: %d videos of %d classes listed, %d listed paths missing",
             source.root, len(listing.videos), len(listing.class_names), len(listing.quarantined))
    index = out_dir / INDEX
    rejected: list[QuarantineEntry] = []
    clips_per_split: dict[str, int] = {}
    if listing.videos:
        tasks = plan_videos(listing.videos, source.sampling.clips_per_video, source.sampling.seed)
        shards = into_video_shards(tasks, shard_size)
        job = ShardJob(out_dir, origin="real", fps=clip.fps)
        run_shard_pipeline(shards, job, VideoProducer(clip, source.sampling), beam_cfg, index)
        rejected = [QuarantineEntry(q["path"], q["reason"]) for s in shards for q in job.quarantined(s.shard_id)]
        clips_per_split = dict(Counter(pq.read_table(index, columns=["split"]).column("split").to_pylist()))
    report = IngestReport(
        index=index,
        quarantine=out_dir / QUARANTINE,
        class_names=listing.class_names,
        videos_ingested=len(listing.videos) - len(rejected),
        quarantined=sorted([QuarantineEntry(path_text(q.path), q.reason) for q in listing.quarantined] + rejected,
                           key=lambda q: q.path),
        clips=sum(clips_per_split.values()),
        clips_per_split=clips_per_split,
    )
    _write_quarantine(report)
    log.info("ingested %d videos into %d clips %s; %d videos quarantined (see %s)",
             report.videos_ingested, report.clips, clips_per_split, len(report.quarantined), report.quarantine)
    if report.clips == 0:
        raise NothingIngested(f"no video of {source.root} gave a clip; the reasons are in {report.quarantine}")
    labels = set(pq.read_table(index, columns=["label"]).column("label").to_pylist())
    empty = [name for i, name in enumerate(listing.class_names) if i not in labels]
    if empty:
        raise NothingIngested(f"classes {empty} of {source.root} got no clip (every video quarantined); "
                              f"drop them with source.classes or fix their videos: reasons in {report.quarantine}")
    return report


def _write_quarantine(report: IngestReport) -> None:
    """``quarantine.json`` beside the index, written under a temporary name and renamed."""
    body = {
        "videos_ingested": report.videos_ingested,
        "videos_quarantined": len(report.quarantined),
        "clips": report.clips,
        "quarantined": [asdict(q) for q in report.quarantined],
    }
    write_text_atomic(report.quarantine, json.dumps(body, indent=2) + "\n")
