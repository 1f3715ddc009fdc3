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

from pipelines.index_io import merge_indexes
from pipelines.plan import ShardTask
from pipelines.progress import PartsProgress
from pipelines.shard_job import ProducedClip, Quarantined, ShardJob
from schemas.config import BeamConfig

log = logging.getLogger(__name__)


class Producer(Protocol):
    """Makes the pixels of a shard's clips, or reports a source as :class:`Quarantined`.

    Pickled to every worker; ``setup`` runs once there.
    """

    def setup(self) -> None: ...

    def __call__(self, shard: ShardTask) -> Iterable[ProducedClip | Quarantined]: ...


class WriteShardFn(beam.DoFn):
    """Writes one shard per element, skipping shards already finished (checked by checksum)."""

    def __init__(self, job: ShardJob, producer: Producer):
        self.job = job
        self.producer = producer

    def setup(self):
        self.producer.setup()

    def process(self, shard: ShardTask):
        if self.job.finished(shard):
            log.info("%s already finished, reusing it", shard.name)
            yield str(self.job.part_path(shard))
        else:
            yield str(self.job.run(shard, self.producer(shard)))


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
    shards: list[ShardTask], job: ShardJob, producer: Producer, cfg: BeamConfig, index_path: str | os.PathLike
) -> Path:
    """Make every shard of the plan, then merge the per-shard index parts into ``index_path``."""
    if not shards:
        raise ValueError("the plan has no clips to make")
    job.remove_stale_temporaries()
    parts = [job.part_path(s) for s in shards]
    cluster = _local_dask_cluster(cfg) if cfg.runner == "dask" and not cfg.dask_address else None
    try:
        if cluster is not None:
            cfg = cfg.model_copy(update={"dask_address": cluster.scheduler_address})
        log.info("running %d shards on the %s runner", len(shards), cfg.runner)
        p = _pipeline(cfg)
        (
            p
            | "Plan" >> beam.Create(shards)
            | "Spread" >> beam.Reshuffle()
            | "WriteShards" >> beam.ParDo(WriteShardFn(job, producer))
        )
        with PartsProgress(parts, what=str(job.out_dir)):
            result = p.run()
            result.wait_until_finish()
        if getattr(result, "client", None) is not None:  # the DaskRunner's own client
            result.client.close()
    finally:
        if cluster is not None:
            cluster.close()
    missing = [str(p) for p in parts if not p.is_file()]
    if missing:
        raise RuntimeError(f"the pipeline finished but {len(missing)} shards have no index part: {missing[:5]}")
    # The parts stay until publishing: they are what lets a re-run skip finished shards.
    return merge_indexes(parts, index_path)


def _local_dask_cluster(cfg: BeamConfig):
    """A local ``distributed`` cluster of worker processes, closed when the pipeline ends."""
    from distributed import LocalCluster

    return LocalCluster(n_workers=cfg.dask_workers, threads_per_worker=1, processes=True, dashboard_address=None)

