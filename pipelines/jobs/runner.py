"""Run a plan of shards as an Apache Beam pipeline on the configured runner.

Runners are named explicitly: Beam's ``DirectRunner`` first tries the Prism
runner, which downloads a binary, so "direct" here means the FnApiRunner that
the DirectRunner would fall back to for a batch pipeline, and "dask" means
Beam's DaskRunner on a ``distributed`` cluster (a local one unless an address
is given).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Iterable, Protocol

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.transforms.window import GlobalWindows

from pipelines.dataset.index_io import merge_indexes
from pipelines.jobs.plan import ClassPlan, ShardTask
from pipelines.jobs.progress import PartsProgress
from pipelines.jobs.shard_job import ProducedClip, Quarantined, ShardJob, ShardWriter
from schemas.config import BeamConfig

log = logging.getLogger(__name__)


class Producer(Protocol):
    """Makes the pixels of a shard's clips, or reports a source as :class:`Quarantined`.

    Pickled to every worker; ``setup`` runs there before the first shard. A
    producer that sets an ``encode_threads`` attribute in ``setup`` chooses how
    many threads encode beside it (it knows its device and the cores it uses);
    otherwise the shard job's count applies. One that sets ``encode_in_background``
    true keeps every core busy itself, and has the encoders take what it leaves
    (:class:`ShardWriter`'s ``background``).
    """

    def setup(self) -> None: ...

    def __call__(self, shard: ShardTask) -> Iterable[ProducedClip | Quarantined]: ...


class WriteShardFn(beam.DoFn):
    """Writes one shard per element, skipping shards already finished (checked by checksum).

    The shards of a bundle go through one :class:`ShardWriter`, so each is
    finished while the producer makes the next; the last is finished in
    ``finish_bundle``. Outputs are the index parts, for logging only: the
    pipeline's result is what lies on disk.
    """

    def __init__(self, job: ShardJob, producer: Producer):
        self.job = job
        self.producer = producer
        self.writer: ShardWriter | None = None

    def setup(self):
        self.producer.setup()

    def start_bundle(self):
        self.writer = ShardWriter(self.job, getattr(self.producer, "encode_threads", None),
                                  getattr(self.producer, "encode_in_background", False))

    def process(self, shard: ShardTask):
        if self.job.finished(shard):
            log.info("%s already finished, reusing it", shard.name)
            yield str(self.job.part_path(shard.shard_id))
        else:
            for part in self.writer.submit(shard, self.producer(shard)):
                yield str(part)

    def finish_bundle(self):
        try:
            parts = self.writer.drain()
        finally:
            self._close()
        for part in parts:
            yield GlobalWindows.windowed_value(str(part))

    def teardown(self):
        self._close()

    def _close(self):
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _pipeline(cfg: BeamConfig) -> beam.Pipeline:
    if cfg.runner == "direct":
        from apache_beam.runners.portability.fn_api_runner import FnApiRunner

        mode = "multi_processing" if cfg.direct_num_workers > 1 else "in_memory"
        # flags=[] everywhere: without it Beam parses this process's sys.argv as its own options.
        options = PipelineOptions(flags=[], direct_num_workers=cfg.direct_num_workers, direct_running_mode=mode)
        return beam.Pipeline(runner=FnApiRunner(), options=options)
    from apache_beam.runners.dask.dask_runner import DaskRunner

    # One shard per Dask partition, so shards spread over every worker.
    args = ["--dask_client_address", cfg.dask_address, "--dask_partition_size", "1"]
    return beam.Pipeline(runner=DaskRunner(), options=PipelineOptions(flags=args))


def run_shard_pipeline(
    plan: ClassPlan | list[ShardTask], job: ShardJob, producer: Producer, cfg: BeamConfig,
    index_path: str | os.PathLike,
) -> Path:
    """Make every shard of the plan, then merge the per-shard index parts into ``index_path``.

    A :class:`ClassPlan` is sent as shard numbers and each worker works out
    its shard's clips, so the launching process holds nothing per clip; a list
    of shards (clips of listed videos) is sent as it is.
    """
    if not len(plan):
        raise ValueError("the plan has no clips to make")
    job.remove_stale_temporaries()
    cluster = _local_dask_cluster(cfg) if cfg.runner == "dask" and not cfg.dask_address else None
    try:
        if cluster is not None:
            cfg = cfg.model_copy(update={"dask_address": cluster.scheduler_address})
        log.info("running %d shards on the %s runner", len(plan), cfg.runner)
        p = _pipeline(cfg)
        if isinstance(plan, ClassPlan):
            ids = p | "Plan" >> beam.Create(range(len(plan))) | "Spread" >> beam.Reshuffle()
            shards = ids | "Clips" >> beam.Map(plan.shard)
        else:
            shards = p | "Plan" >> beam.Create(plan) | "Spread" >> beam.Reshuffle()
        shards | "WriteShards" >> beam.ParDo(WriteShardFn(job, producer))
        with PartsProgress(job.part_path, len(plan), what=str(job.out_dir)):
            result = p.run()
            result.wait_until_finish()
        if getattr(result, "client", None) is not None:  # the DaskRunner's own client
            result.client.close()
    finally:
        if cluster is not None:
            cluster.close()
    parts = [job.part_path(i) for i in range(len(plan))]
    missing = [str(p) for p in parts if not p.is_file()]
    if missing:
        raise RuntimeError(f"the pipeline finished but {len(missing)} shards have no index part: {missing[:5]}")
    # The parts stay until publishing: they are what lets a re-run skip finished shards.
    return merge_indexes(parts, index_path)


# distributed starts every worker with MALLOC_TRIM_THRESHOLD_=65536 so that freed
# memory goes back to the OS. Setting it turns off glibc's adaptive mmap
# threshold, so every large tensor torch allocates is mmap'd and faulted in
# afresh: the generator costs ~50% more CPU per clip (4x the page faults).
# Generation holds at most two shards, so the workers go without it.
DASK_WORKER_CONFIG = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


def _local_dask_cluster(cfg: BeamConfig):
    """A local ``distributed`` cluster of worker processes, closed when the pipeline ends."""
    import dask
    from distributed import LocalCluster

    with dask.config.set(DASK_WORKER_CONFIG):
        return LocalCluster(n_workers=cfg.dask_workers, threads_per_worker=1, processes=True, dashboard_address=None)

