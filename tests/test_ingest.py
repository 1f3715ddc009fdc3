"""Ingesting real video datasets through Beam: clips, labels, splits, the quarantine report, caching, runners."""

import json

import pytest

from pipelines import ClipDataset, NothingIngested, ingest_videos, read_index
from pipelines.jobs import ingest as ingest_module
from pipelines.dataset.shards import KEY_PATTERN
from schemas.config import BeamConfig, ClipFormat, FolderSource, KineticsSource, UCF101Source, VideoSampling
from tests.videos import (
    append_to_list,
    frame_class,
    frame_numbers,
    garbage,
    truncate,
    unknown_codec,
    write_class_folders,
    write_kinetics,
    write_ucf101,
    write_video,
)

CLASSES = ["ApplyEyeMakeup", "HandstandPushups", "Basketball"]
CLIP = ClipFormat(frames=8, size=32, fps=12.5)  # from 25 fps: every other source frame


@pytest.fixture(scope="module")
def ucf(tmp_path_factory):
    """UCF-101 with two good videos per class (g01 test, g08 train in split 1) and one of each fault."""
    root = tmp_path_factory.mktemp("ucf")
    videos = write_ucf101(root, CLASSES, groups=(1, 8), frames=40)
    lists = root / "ucfTrainTestlist"
    faults = {
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g09_c01.avi": lambda p: p.write_bytes(b""),
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g09_c02.avi": lambda p: truncate(write_video(p, 40)),
        "HandstandPushups/v_HandStandPushups_g09_c01.avi": lambda p: garbage(p),
        "HandstandPushups/v_HandStandPushups_g09_c02.avi": lambda p: unknown_codec(write_video(p, 40)),
        "Basketball/v_Basketball_g09_c01.avi": lambda p: write_video(p, 10),  # 5 frames at 12.5 fps
        "Basketball/v_Basketball_g09_c02.avi": None,  # listed, never written
    }
    for rel, make in faults.items():
        append_to_list(lists / "trainlist01.txt", f"{rel} {CLASSES.index(rel.split('/')[0]) + 1}")
        if make is not None:
            make(videos / rel)
    return root


@pytest.fixture(scope="module")
def ingested(ucf, tmp_path_factory):
    source = UCF101Source(root=str(ucf), sampling=VideoSampling(clips_per_video=2))
    out = tmp_path_factory.mktemp("real")
    return source, out, ingest_videos(source, CLIP, out, BeamConfig(), shard_size=4)


def test_index_has_every_clip_of_every_good_video(ingested):
    _, out, report = ingested
    rows = read_index(out / "index.parquet").to_pylist()
    assert report.class_names == CLASSES and report.videos_ingested == 6 and report.clips == len(rows) == 12
    assert report.clips_per_split == {"train": 6, "test": 6}
    for row in rows:
        assert row["origin"] == "real" and (row["frames"], row["height"], row["width"]) == (8, 32, 32)
        assert row["label_name"] == CLASSES[row["label"]] == row["source_path"].split("/")[0]
        assert row["split"] == ("test" if "_g01_" in row["source_path"] else "train")
        assert row["key"].startswith(f"real-c{row['label']:03d}-") and row["fps"] == 12.5
    assert {r["source_path"] for r in rows if r["label"] == 1} == {
        "HandstandPushups/v_HandStandPushups_g01_c01.avi", "HandstandPushups/v_HandStandPushups_g08_c01.avi"}


def test_clips_show_their_class_and_start_at_their_start_frame(ingested):
    _, out, _ = ingested
    data = ClipDataset(out)
    starts = {r["key"]: r["start_frame"] for r in read_index(out / "index.parquet").to_pylist()}
    for i, row in enumerate(data.rows):
        video, label = data[i]
        assert frame_class(video.numpy()) == label
        assert frame_numbers(video.numpy()) == [starts[row["key"]] + 2 * k for k in range(8)]


def test_quarantine_report_names_every_bad_video_and_why(ingested, ucf):
    _, out, report = ingested
    written = json.loads((out / "quarantine.json").read_text())
    assert (written["videos_ingested"], written["videos_quarantined"], written["clips"]) == (6, 6, 12)
    reasons = {entry["path"].split("/")[-1]: entry["reason"] for entry in written["quarantined"]}
    assert reasons.keys() == {"v_ApplyEyeMakeup_g09_c01.avi", "v_ApplyEyeMakeup_g09_c02.avi", "v_HandStandPushups_g09_c01.avi",
                              "v_HandStandPushups_g09_c02.avi", "v_Basketball_g09_c01.avi", "v_Basketball_g09_c02.avi"}
    assert reasons["v_ApplyEyeMakeup_g09_c01.avi"] == "empty file (0 bytes)"
    assert reasons["v_ApplyEyeMakeup_g09_c02.avi"].startswith("truncated or corrupt")
    assert reasons["v_HandStandPushups_g09_c01.avi"].startswith("not a readable video file")
    assert reasons["v_HandStandPushups_g09_c02.avi"].startswith("unreadable codec")
    assert reasons["v_Basketball_g09_c01.avi"].startswith("shorter than one clip")
    assert reasons["v_Basketball_g09_c02.avi"] == "listed in trainlist01.txt but not found"
    assert [q.path for q in report.quarantined] == [e["path"] for e in written["quarantined"]]
    assert written["quarantined"][0]["path"].startswith(str(ucf))


def test_rerun_decodes_nothing_and_redoes_a_damaged_shard(ingested, tmp_path, monkeypatch):
    import shutil

    source, out, report = ingested
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    shards = sorted((copy / "shards").glob("*.tar"))
    mtimes = [s.stat().st_mtime_ns for s in shards]

    def no_decoding(*args, **kwargs):
        raise AssertionError("a finished shard was decoded again")

    with monkeypatch.context() as m:
        m.setattr(ingest_module, "cut_clips", no_decoding)
        again = ingest_videos(source, CLIP, copy, BeamConfig(), shard_size=4)
    assert [s.stat().st_mtime_ns for s in shards] == mtimes
    assert again.quarantined == report.quarantined and again.clips == report.clips
    good = shards[-1].read_bytes()
    shards[-1].write_bytes(good[:1000])
    ingest_videos(source, CLIP, copy, BeamConfig(), shard_size=4)
    assert shards[-1].read_bytes() == good
    assert (copy / "index.parquet").read_bytes() == (out / "index.parquet").read_bytes()


def test_multi_process_direct_runner_gives_the_same_dataset(ingested, tmp_path):
    source, out, _ = ingested
    ingest_videos(source, CLIP, tmp_path, BeamConfig(direct_num_workers=2), shard_size=4)
    assert (tmp_path / "index.parquet").read_bytes() == (out / "index.parquet").read_bytes()
    assert (tmp_path / "quarantine.json").read_bytes() == (out / "quarantine.json").read_bytes()


def test_dask_runner_gives_the_same_dataset(ingested, tmp_path):
    source, out, _ = ingested
    ingest_videos(source, CLIP, tmp_path, BeamConfig(runner="dask", dask_workers=2), shard_size=4)
    assert (tmp_path / "index.parquet").read_bytes() == (out / "index.parquet").read_bytes()
    for shard in (out / "shards").glob("*.tar"):
        assert (tmp_path / "shards" / shard.name).read_bytes() == shard.read_bytes()


def test_kinetics_segments_are_cut_at_their_times_and_short_videos_loop(tmp_path):
    csv, videos = write_kinetics(tmp_path, [
        ("air drumming", "abc", 2, 4, "train"),  # a 2 s segment file: 20 frames at 10 fps
        ("yoga", "whole", 3, 5, "validate"),  # a 6 s whole video: frames 30..49 are the segment
        ("yoga", "tiny", 0, 1, "train"),  # 1 s: shorter than one clip of 16 frames at 10 fps
    ], full={"whole"}, fps=10)
    source = KineticsSource(root=str(videos), csv=str(csv), sampling=VideoSampling(short_video="loop"))
    report = ingest_videos(source, ClipFormat(frames=16, size=32, fps=10), tmp_path / "out", BeamConfig())
    assert report.class_names == ["air drumming", "yoga"] and report.clips == 3 and not report.quarantined
    data = ClipDataset(tmp_path / "out")
    rows = {r["source_path"]: r for r in read_index(tmp_path / "out" / "index.parquet").to_pylist()}
    whole = rows["whole.mp4"]
    assert (whole["label"], whole["split"], whole["start_frame"]) == (1, "val", 32)  # the centre of 30..49
    assert all(KEY_PATTERN.match(r["key"]) for r in rows.values())  # labels with spaces never reach a key
    for i, row in enumerate(data.rows):
        video, label = data[i]
        numbers = frame_numbers(video.numpy())
        if row["key"] == whole["key"]:
            assert numbers == list(range(32, 48))
        elif label == 1:  # the looped tiny video
            assert numbers == list(range(10)) + list(range(6))


def test_a_dataset_without_one_usable_video_fails_after_writing_its_report(tmp_path):
    root = write_class_folders(tmp_path / "data", {"run": 1, "jump": 1}, frames=3)
    with pytest.raises(NothingIngested, match="quarantine.json"):
        ingest_videos(FolderSource(root=str(root)), CLIP, tmp_path / "out", BeamConfig())
    assert json.loads((tmp_path / "out" / "quarantine.json").read_text())["videos_quarantined"] == 2
