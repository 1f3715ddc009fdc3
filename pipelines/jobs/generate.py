"""Generation: a plan of (label, seed) pairs becomes encoded clips in shards with an index.

The generator is loaded once per worker process and run in batches; the shard
job encodes each batch on other threads while the next one is generated, and
finishes each shard (last encodes, tar, index part) while the next shard is
generated.

On a CPU the generator and the H.264 encoders share the worker's cores, and
x264 costs 0.7-1.5x the generator's CPU per clip at the shipped widths
(``bench/results/generation_throughput.json``). Torch therefore gets half of
the cores while it generates and the encode threads get the rest. Giving torch
all of them is worse than it looks: its intra-op threads meet at a barrier
after every operator, so when an encode thread (or anything else) preempts one
of them the others wait; on two busy cores, two torch threads generated up to
9x slower than one (``bench/results/generator_throughput.json``). The thread
count does not change the pixels: 1 and 2 threads give identical clips.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.jobs.plan import ShardTask, plan_synthetic
from pipelines.jobs.runner import run_shard_pipeline
from pipelines.jobs.shard_job import ProducedClip, ShardJob
from schemas.config import BeamConfig, GenerateConfig
from schemas.labels import boxes_from_mask
from schemas.layout import INDEX

GENERATOR_NAME = "vgan-two-stream"


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, which taskset and container cpusets narrow)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def split_cores(cores: int, device_type: str = "cpu", sole_worker: bool = False) -> tuple[int, int, bool]:
    """(torch intra-op threads, encode threads, encode in background) for a worker with ``cores`` CPU cores.

    On a GPU one torch thread feeds the device and every core encodes. On the
    CPU, a worker alone on its machine gives torch every core and so the
    encoders, at the lowest priority: the generator is the expensive part,
    and the encoders fill the gaps it leaves (between operators, batches and
    shards). Splitting the cores instead left the encoders' share idle half
    the time; sharing them at equal priority stalled torch's threads on each
    other. Workers that share a machine split it (half the cores to torch,
    the rest encode, one priority): two local Dask workers ran at 67 clips/s
    with background encoders and 156 with the split (docs/performance.md, "Dask"), most
    likely because another process's torch threads keep a background encoder
    that holds the GIL off the cores while this worker's generator waits for it.
    """
    if device_type != "cpu":
        return 1, max(2, cores), False
    if sole_worker:
        return cores, max(2, cores), True
    torch_threads = max(1, cores // 2)
    return torch_threads, max(2, cores - torch_threads), False


# The last generator loaded in this process. Beam's DaskRunner calls a DoFn's
# ``setup`` once per partition, i.e. once per shard, so without this every
# shard would read, hash and rebuild the checkpoint again.
_LOADED: dict[tuple, tuple] = {}


def _load_cached(checkpoint: str, device):
    from generators import load_generator

    try:
        st = os.stat(checkpoint)
    except OSError:
        return load_generator(checkpoint, device=device)  # raises CheckpointError naming the path
    key = (os.path.realpath(checkpoint), st.st_size, st.st_mtime_ns, st.st_ino, str(device))
    if key not in _LOADED:
        _LOADED.clear()
        _LOADED[key] = load_generator(checkpoint, device=device)
    return _LOADED[key]


class GeneratorProducer:
    """Samples a shard's clips from a checkpoint's EMA generator, ``batch_size`` at a time.

    ``cores`` is how many CPU cores this worker may use (default: all the
    process may run on) and ``sole_worker`` whether it has its machine to
    itself; :func:`split_cores` shares the cores between torch and the encode
    threads, whose number and priority ``setup`` leaves in ``encode_threads``
    and ``encode_in_background``.
    """

    def __init__(self, checkpoint: str | os.PathLike, cfg: GenerateConfig, cores: int | None = None,
                 sole_worker: bool = False):
        self.checkpoint = str(checkpoint)
        self.cfg = cfg
        self.cores = cores
        self.sole_worker = sole_worker
        self.generator = None
        self.info = None  # CheckpointInfo, once set up

    def setup(self) -> None:
        from generators.device import resolve_device

        self.device = resolve_device(self.cfg.device)
        self.generator, self.info = _load_cached(self.checkpoint, self.device)
        self.torch_threads, self.encode_threads, self.encode_in_background = split_cores(
            self.cores or available_cores(), self.device.type, self.sole_worker
        )

    def __call__(self, shard: ShardTask):
        from generators import sample, torch_threads

        clips = shard.clips
        for start in range(0, len(clips), self.cfg.batch_size):
            batch = clips[start : start + self.cfg.batch_size]
            with torch_threads(self.torch_threads):
                out = sample(
                    self.generator,
                    [t.label for t in batch],
                    [t.seed for t in batch],
                    self.cfg.truncation,
                    device=self.device,
                    precision=self.cfg.precision,
                )
            for task, video, mask in zip(batch, out.videos, out.masks):
                fields = {
                    "generator": GENERATOR_NAME,
                    "checkpoint_sha256": self.info.sha256,
                    "seed": task.seed,
                    "truncation": self.cfg.truncation,
                }
                yield ProducedClip(task, video, fields, boxes_from_mask(mask))


def generate_dataset(
    checkpoint: str | os.PathLike, cfg: GenerateConfig, out_dir: str | os.PathLike, beam_cfg: BeamConfig
) -> Path:
    """Generate the planned clips into ``out_dir`` (shards + index.parquet); finished shards are reused.

    Class names and clip format come from the checkpoint itself, so a plan can
    never pair a label with another class's name; ``cfg.counts`` naming a class
    the checkpoint does not know is an error before anything is written.
    """
    from generators import read_checkpoint_info

    info = read_checkpoint_info(checkpoint)
    producer = GeneratorProducer(checkpoint, cfg, *local_worker_share(beam_cfg))
    return run_generation(info, cfg, producer, out_dir, beam_cfg)


def run_generation(info, cfg: GenerateConfig, producer, out_dir: str | os.PathLike, beam_cfg: BeamConfig) -> Path:
    """Run ``producer`` (a :class:`GeneratorProducer` or subclass) over the generation plan into ``out_dir``.

    The one run every generating job shares: the plan of ``cfg``'s counts over the
    checkpoint's classes (``info``, a ``CheckpointInfo``), the shard job at its
    frame rate, the shard pipeline, and dropping the generator this process loaded.
    """
    class_names = list(info.class_names)
    plan = plan_synthetic(class_names, cfg.planned_counts(class_names), cfg.seed, cfg.shard_size)
    job = ShardJob(out_dir, origin="synthetic", fps=info.clip.fps, crf=cfg.crf, preset=cfg.preset)
    try:
        return run_shard_pipeline(plan, job, producer, beam_cfg, Path(out_dir) / INDEX)
    finally:
        _LOADED.clear()  # this process does not keep the model once its run is over


def local_worker_share(beam_cfg: BeamConfig) -> tuple[int | None, bool]:
    """(cores per worker, whether it is the machine's only worker) when all workers run on this machine.

    On a remote cluster each worker counts its own cores and may have neighbours: (None, False).
    """
    if beam_cfg.runner == "dask" and beam_cfg.dask_address:
        return None, False
    workers = beam_cfg.direct_num_workers if beam_cfg.runner == "direct" else beam_cfg.dask_workers
    return max(1, available_cores() // workers), workers == 1
