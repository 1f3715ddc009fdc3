"""The procedural real clip dataset through Beam: real MP4 bytes, real shards, real Parquet."""

import numpy as np
import pytest

from pipelines import ClipDataset, prepare_procedural, read_index
from pipelines.sources.procedural import parse_source_path, render_clip
from pipelines.media.video_io import decode_video
from schemas.config import BeamConfig, ClipFormat, ProceduralSource

SOURCE = ProceduralSource(classes=["walk_right", "fall", "wave"], clips_per_class=4, test_fraction=0.25, seed=3)
CLIP = ClipFormat(frames=8, size=32, fps=6)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    out = tmp_path_factory.mktemp("real")
    return prepare_procedural(SOURCE, CLIP, out, BeamConfig(), shard_size=5).parent


def test_index_describes_every_clip(prepared):
    table = read_index(prepared / "index.parquet")
    assert table.num_rows == 12
    rows = table.to_pylist()
    assert {r["label_name"] for r in rows} == {"walk_right", "fall", "wave"}
    assert {(r["label"], r["label_name"]) for r in rows} == {(0, "walk_right"), (1, "fall"), (2, "wave")}
    assert sum(r["split"] == "test" for r in rows) == 3
    assert all(r["origin"] == "real" and r["frames"] == 8 and r["height"] == r["width"] == 32 for r in rows)
    assert all(r["source_path"].startswith("procedural:") and r["boxes"] is not None for r in rows)
    assert sorted({r["shard"] for r in rows}) == [f"shards/shard-{i:06d}.tar" for i in range(3)]


def test_clips_decode_to_the_rendered_pixels(prepared):
    data = ClipDataset(prepared)
    row = data.rows[0]
    table = read_index(prepared / "index.parquet").to_pylist()
    source = next(r["source_path"] for r in table if r["key"] == row["key"])
    expected, _ = render_clip(*parse_source_path(source), 8, 32, 32)
    video, label = data[0]
    assert video.shape == (8, 32, 32, 3) and str(video.dtype) == "torch.uint8"
    psnr = 10 * np.log10(255**2 / np.mean((video.numpy().astype(float) - expected.astype(float)) ** 2))
    assert psnr > 28, psnr


def test_split_filter(prepared):
    assert len(ClipDataset(prepared, split="train")) == 9
    assert len(ClipDataset(prepared, split="test")) == 3


def test_rerun_reuses_finished_shards_and_redoes_a_corrupted_one(prepared, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(prepared, copy)
    shards = sorted((copy / "shards").glob("*.tar"))
    untouched_mtime = shards[0].stat().st_mtime_ns
    good = shards[1].read_bytes()
    shards[1].write_bytes(good[: len(good) // 2])  # a torn write under the final name
    prepare_procedural(SOURCE, CLIP, copy, BeamConfig(), shard_size=5)
    assert shards[0].stat().st_mtime_ns == untouched_mtime
    assert shards[1].read_bytes() == good
    assert (copy / "index.parquet").read_bytes() == (prepared / "index.parquet").read_bytes()


def test_dask_runner_on_a_local_cluster_gives_the_same_dataset(prepared, tmp_path):
    out = tmp_path / "dask"
    prepare_procedural(SOURCE, CLIP, out, BeamConfig(runner="dask", dask_workers=2), shard_size=5)
    assert (out / "index.parquet").read_bytes() == (prepared / "index.parquet").read_bytes()
    for shard in (prepared / "shards").glob("*.tar"):
        assert (out / "shards" / shard.name).read_bytes() == shard.read_bytes()


def test_each_clip_in_the_shard_is_a_valid_mp4(prepared):
    data = ClipDataset(prepared)
    for i in range(len(data)):
        assert decode_video(data.read_bytes(i)).shape == (8, 32, 32, 3)


def test_index_rows_follow_the_shards_and_their_tars(prepared):
    rows = read_index(prepared / "index.parquet").to_pylist()
    assert [(r["shard"], r["offset"]) for r in rows] == sorted((r["shard"], r["offset"]) for r in rows)


def test_parts_of_another_shard_size_are_redone_not_merged(prepared, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(prepared, copy)  # three shards of 5, 5 and 2 clips
    prepare_procedural(SOURCE, CLIP, copy, BeamConfig(), shard_size=4)
    rows = read_index(copy / "index.parquet").to_pylist()
    keys = [r["key"] for r in rows]
    assert len(keys) == len(set(keys)) == 12
    assert [sum(r["shard"] == f"shards/shard-{i:06d}.tar" for r in rows) for i in range(3)] == [4, 4, 4]


def test_the_merged_index_is_written_a_row_group_at_a_time(prepared, tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    from pipelines.dataset import index_io
    from schemas.index import SCHEMA_VERSION, schema_version_of

    monkeypatch.setattr(index_io, "MERGE_ROW_GROUP", 4)
    parts = sorted((prepared / "_parts").glob("*.parquet"))
    merged = index_io.merge_indexes(parts, tmp_path / "index.parquet")
    meta = pq.ParquetFile(merged).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [4, 4, 4]
    assert read_index(merged).equals(read_index(prepared / "index.parquet"))
    assert schema_version_of(pq.read_table(merged)) == SCHEMA_VERSION
