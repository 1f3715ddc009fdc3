"""The shard writer finishes a shard while the next is produced; generation shares the cores it is given."""

import os
import sys

import numpy as np
import pytest
import torch

from pipelines.jobs.generate import GeneratorProducer, split_cores
from pipelines.dataset.index_io import read_index
from pipelines.jobs.plan import plan_procedural
from pipelines.jobs.shard_job import ProducedClip, ShardJob, ShardWriter
from schemas.config import GenerateConfig

SHARDS = list(plan_procedural(["a", "b"], 4, 0.25, 0, shard_size=3))


def _produce(shard):
    for task in shard.clips:
        yield ProducedClip(task, np.full((4, 16, 16, 3), task.index * 20, np.uint8), {})


def test_each_submit_returns_the_previous_shard_and_drain_the_last(tmp_path):
    job = ShardJob(tmp_path, origin="real", fps=8)
    writer = ShardWriter(job, encode_threads=2)
    try:
        returned = [writer.submit(shard, _produce(shard)) for shard in SHARDS]
        returned.append(writer.drain())
    finally:
        writer.close()
    assert returned[0] == []
    assert [p for parts in returned for p in parts] == [job.part_path(s.shard_id) for s in SHARDS]
    assert all(job.finished(s) for s in SHARDS)
    assert [r["key"] for s in SHARDS for r in read_index(job.part_path(s.shard_id)).to_pylist()] == [
        t.key for s in SHARDS for t in s.clips
    ]


def test_a_shard_that_fails_to_finish_is_reported_and_leaves_no_part(tmp_path):
    job = ShardJob(tmp_path, origin="real", fps=8)
    writer = ShardWriter(job)

    def odd_frames(shard):  # x264 refuses odd sizes, so the encode fails on the encode thread
        for task in shard.clips:
            yield ProducedClip(task, np.zeros((4, 15, 15, 3), np.uint8), {})

    try:
        writer.submit(SHARDS[0], odd_frames(SHARDS[0]))
        with pytest.raises(ValueError, match="even height and width"):
            writer.drain()
    finally:
        writer.close()
    assert not job.part_path(SHARDS[0].shard_id).exists()


def test_a_sole_cpu_worker_gives_torch_every_core_and_the_encoders_what_it_leaves():
    assert split_cores(1, sole_worker=True) == (1, 2, True)
    assert split_cores(2, sole_worker=True) == (2, 2, True)
    assert split_cores(16, sole_worker=True) == (16, 16, True)


def test_workers_sharing_a_machine_split_their_cores_at_one_priority():
    assert split_cores(1) == (1, 2, False)
    assert split_cores(2) == (1, 2, False)
    assert split_cores(16) == (8, 8, False)
    assert split_cores(16, "cuda") == split_cores(16, "cuda", sole_worker=True) == (1, 16, False)


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread nice values are Linux's")
def test_background_writer_threads_run_at_the_lowest_priority_and_the_caller_keeps_its_own(tmp_path):
    job = ShardJob(tmp_path, origin="real", fps=8)
    caller = os.getpriority(os.PRIO_PROCESS, 0)
    for background, expected in ((True, 19), (False, caller)):
        writer = ShardWriter(job, encode_threads=2, background=background)
        try:
            nice = lambda: os.getpriority(os.PRIO_PROCESS, 0)  # noqa: E731  (the calling thread's own)
            assert writer._encoder.submit(nice).result() == expected
            assert writer._finisher.submit(nice).result() == expected
        finally:
            writer.close()
    assert os.getpriority(os.PRIO_PROCESS, 0) == caller


def test_generation_leaves_the_callers_torch_threads_as_they_were(tmp_path):
    from generators import VideoGenerator, save_checkpoint
    from schemas.config import ClipFormat, ModelConfig, TrainConfig

    model = ModelConfig(z_dim=8, channels=8)
    weights = VideoGenerator(2, 8, 8, 8, 32).state_dict()
    state = {"config": TrainConfig(model=model).model_dump(mode="json"),
             "clip": ClipFormat(frames=8, size=32).model_dump(mode="json"), "class_names": ["a", "b"], "step": 0,
             "G": weights, "G_ema": weights, "D_video": {}, "D_frame": {}, "opt_G": {}, "opt_D": {},
             "rng": torch.Generator().get_state()}
    checkpoint = save_checkpoint(tmp_path / "g.pt", state)
    shard = plan_procedural(["a", "b"], 4, 0.25, 0, shard_size=8).shard(0)
    producer = GeneratorProducer(checkpoint, GenerateConfig(batch_size=4, device="cpu"), cores=2, sole_worker=True)
    producer.setup()
    before = torch.get_num_threads()
    torch.set_num_threads(3)  # not what the producer uses (its two cores)
    try:
        videos = [clip.video for clip in producer(shard)]
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)
    assert len(videos) == len(shard.clips)
    assert (producer.torch_threads, producer.encode_threads, producer.encode_in_background) == (2, 2, True)
