"""Surveillance clips: actors composited into scenes, their per-actor labels, scenes and exports."""

from __future__ import annotations

import configparser
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from generators.composite import ActorLayer, Perspective, Placement, composite, plan_actors


def _rectangle_actor(frames=8, size=16, top=4, height=8, left=2, width=4, step=1, colour=0.9, label=0):
    """A solid rectangle moving ``step`` pixels right per frame, with a binary mask: its box is known exactly."""
    fg = np.zeros((frames, size, size, 3), np.float32)
    mask = np.zeros((frames, size, size), np.float32)
    for t in range(frames):
        x = left + step * t
        fg[t, top : top + height, x : x + width] = colour
        mask[t, top : top + height, x : x + width] = 1.0
    return ActorLayer(fg, mask, label, f"class{label}")


def test_a_composited_actor_with_a_known_mask_gets_its_exact_box():
    actor = _rectangle_actor()  # union footprint: rows 4..12, columns 2..13 (4 wide, moving 7 px)
    scene = np.full((40, 50, 3), 30, np.uint8)
    # Height 8 = the rectangle's own height: scale 1. Footprint 11 wide, so left = x - 11 // 2 = 15, top = 30 - 8 = 22.
    out = composite(scene, [actor], [Placement(x=20, y=30, height=8.0)])
    (track,) = out.tracks
    expected = np.array([[15 + t, 22, 19 + t, 30] for t in range(8)], np.float32)
    np.testing.assert_array_equal(track.boxes, expected)
    np.testing.assert_array_equal(track.visibility, np.ones(8, np.float32))
    assert (track.event_start, track.event_end) == (0, 7)
    assert out.video[3, 22:30, 18:22].min() == round(0.9 * 255) and out.video[3, 0, 0].max() == 30
    assert out.box_coverage == 1.0
    np.testing.assert_array_equal(out.union_boxes, expected)


def test_an_actor_walking_out_of_frame_gets_visibility_0_and_no_box():
    actor = _rectangle_actor(size=40, left=0, width=4, step=4)  # crosses 28 columns, then more
    scene = np.full((24, 24, 3), 100, np.uint8)
    # Footprint 32 wide: left = 20 - 16 = 4; the rectangle starts at column 4 and leaves the 24-wide frame at t = 5.
    out = composite(scene, [actor], [Placement(x=20, y=20, height=8.0)])
    (track,) = out.tracks
    row = track.row()
    assert row["visibility"][:4] == [1.0, 1.0, 1.0, 1.0]
    assert row["visibility"][4] == 1.0 and row["boxes"][4] == [20.0, 12.0, 24.0, 20.0]
    assert row["visibility"][5:] == [0.0, 0.0, 0.0] and row["boxes"][5:] == [None, None, None]
    assert (row["event_start"], row["event_end"]) == (0, 7)  # it keeps moving after it has left


def test_partly_off_frame_and_occluded_actors_have_partial_visibility():
    far = _rectangle_actor(step=0, colour=0.2)  # 8 x 4, static
    near = _rectangle_actor(step=0, colour=0.9, label=1)
    scene = np.zeros((30, 30, 3), np.uint8)
    # The near actor (feet lower) covers the right half of the far one; the far one never moves.
    out = composite(scene, [far, near], [Placement(10, 20, 8.0), Placement(12, 21, 8.0)])
    far_track, near_track = out.tracks
    assert far_track.track_id == 1 and near_track.track_id == 2
    np.testing.assert_array_equal(far_track.boxes[0], [8, 12, 12, 20])
    assert far_track.visibility[0] == pytest.approx(18 / 32)  # 7 rows x 2 columns of its 8 x 4 are covered
    assert near_track.visibility[0] == 1.0
    assert (far_track.event_start, far_track.event_end) == (None, None)
    cut = composite(scene, [far], [Placement(1, 20, 8.0)])  # footprint columns -1..3: one of four off-frame
    assert cut.tracks[0].visibility[0] == pytest.approx(0.75)
    np.testing.assert_array_equal(cut.tracks[0].boxes[0], [0, 12, 3, 20])


def test_actors_are_scaled_to_the_ground_plane_and_lit_like_the_scene():
    actor = _rectangle_actor(step=0, colour=0.5)
    actor.background = np.full((16, 16, 3), 0.5, np.float32)  # the generator lit it for a mid-grey room
    scene = np.full((64, 64, 3), 64, np.uint8)  # a room half as bright
    p = Perspective(horizon=0.25, height_at_bottom=0.5)
    assert p.actor_height(64, 64) == pytest.approx(32) and p.actor_height(16, 64) == 0
    assert p.actor_height(40, 64) == pytest.approx(16)  # halfway to the horizon, half the height
    out = composite(scene, [actor], [Placement(32, 40, p.actor_height(40, 64))])
    box = out.tracks[0].boxes[0]
    assert box[3] - box[1] == 16 and box[2] - box[0] == 8
    assert abs(int(out.video[0, 30, 32, 0]) - round(0.25 * 255)) <= 1  # 0.5 x (64 / 127.5): gain 0.5


def test_actor_plans_depend_on_the_seed_alone():
    p = Perspective(horizon=0.3)
    a = plan_actors(7, 1, [0, 1, 2], 64, 64, p, (1, 3))
    assert a == plan_actors(7, 1, [0, 1, 2], 64, 64, p, (1, 3))
    assert a[0][0] == 1
    for _, _, placement in a:
        assert p.feet_rows(64)[0] - 1 <= placement.y <= 64
    with pytest.raises(ValueError, match="actors per clip"):
        plan_actors(7, 1, [0], 64, 64, p, (3, 1))


def test_procedural_clips_carry_exact_per_actor_tracks():
    from pipelines.sources.procedural import render_clip, render_clip_tracks

    pairs = 0
    for seed in range(12):
        video, union, tracks = render_clip_tracks("walk_right", seed, 8, 32, 48)
        plain, plain_union = render_clip("walk_right", seed, 8, 32, 48)
        np.testing.assert_array_equal(video, plain)
        np.testing.assert_array_equal(union, plain_union)
        pairs += len(tracks) > 1
        for track in tracks:
            assert len(track["boxes"]) == len(track["visibility"]) == 8
            for box in track["boxes"]:
                assert box is None or (0 <= box[0] < box[2] <= 48 and 0 <= box[1] < box[3] <= 32)
            assert track["event_start"] == 0 and track["event_end"] == 7  # walkers move all the time
        boxes = np.array([[b for b in t["boxes"]] for t in tracks], np.float32)
        np.testing.assert_allclose(boxes[:, :, :2].min(axis=0), union[:, :2], atol=1e-5)
    assert pairs  # some seeds render a pair, whose tracks are told apart


def test_scenes_of_unusual_sizes_fit_the_clip_square(tmp_path):
    from PIL import Image

    from pipelines.media.video_io import encode_mp4
    from pipelines.sources.scenes import load_scenes, procedural_scenes

    folder = tmp_path / "cameras"
    folder.mkdir()
    wide = np.zeros((37, 101, 3), np.uint8)
    wide[:, 40:61] = 200  # a bright pillar in the middle survives the centre crop
    Image.fromarray(wide).save(folder / "a-odd-wide.png")
    background = np.tile(np.linspace(20, 220, 70, dtype=np.float32)[None, :, None], (46, 1, 3)).astype(np.uint8)
    video = np.repeat(background[None], 30, axis=0)
    for t in range(30):  # a person-sized block walks through; the median must not see it
        video[t, 10:36, 2 * t : 2 * t + 8] = 255
    (folder / "b-tall-video.mp4").write_bytes(encode_mp4(video, 10))
    (folder / "notes.txt").write_text("not a scene")
    scenes = load_scenes(folder, 32)
    assert [s.path.rsplit("/", 1)[1] for s in scenes] == ["a-odd-wide.png", "b-tall-video.mp4"]
    for scene in scenes:
        assert scene.image.shape == (32, 32, 3) and scene.image.dtype == np.uint8 and len(scene.sha256) == 64
    assert scenes[0].image[:, 14:18].min() > 150 and scenes[0].image[:, :5].max() < 30
    expected = np.asarray(Image.fromarray(background).resize((49, 32), Image.Resampling.BOX))[:, 8:40]
    assert np.abs(scenes[1].image.astype(int) - expected).max() <= 12  # the block is gone, up to H.264 loss
    built_in = procedural_scenes(3, 48, seed=5)
    assert len({s.sha256 for s in built_in}) == 3 and all(0 < s.horizon < 1 for s in built_in)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no image"):
        load_scenes(tmp_path / "empty", 32)
    (folder / "c-broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="c-broken.png"):
        load_scenes(folder, 32)


def test_empty_scenes_of_a_training_set_for_the_scene_critic():
    """Procedural rooms are rendered empty; footage gives each clip's temporal median, which loses what moves only."""
    from pipelines.sources.scenes import empty_scenes
    from schemas.config import FolderSource, ProceduralSource

    background = np.tile(np.linspace(20, 220, 32, dtype=np.float32)[None, :, None], (32, 1, 3)).astype(np.uint8)
    walking, standing = np.repeat(background[None], 16, axis=0), np.repeat(background[None], 16, axis=0)
    for t in range(16):
        walking[t, 8:24, 2 * t : 2 * t + 4] = 255
    standing[:, 8:24, 14:18] = 255
    clips = [(walking, 0), (standing, 1), (walking, 0)]
    medians = empty_scenes(FolderSource(root="/nowhere"), clips, 32)
    assert medians.shape == (3, 32, 32, 3) and medians.dtype == np.uint8
    np.testing.assert_array_equal(medians[0], background)  # the walker is gone
    assert medians[1][8:24, 14:18].min() == 255  # who stands still stays: the limit of footage without empty views
    rooms = empty_scenes(ProceduralSource(seed=4), clips, 24)
    assert rooms.shape == (3, 24, 24, 3) and len({r.tobytes() for r in rooms}) == 3
    np.testing.assert_array_equal(rooms, empty_scenes(ProceduralSource(seed=4), clips, 24))
    with pytest.raises(ValueError, match="no training clips"):
        empty_scenes(ProceduralSource(), [], 32)


def test_procedural_mattes_cover_exactly_the_actors_drawn():
    """The renderer's matte is where it drew actors: no pixel changes outside it, and its box is the tracks' box."""
    from pipelines.sources.procedural import parse_source_path, render_clip_tracks, render_matte, source_path

    for label_name, seed in (("wave", 2), ("walk_left", 5), ("fall", 1)):
        video, union, tracks = render_clip_tracks(label_name, seed, 8, 32, 48)
        matte = render_matte(label_name, seed, 8, 32, 48)
        assert matte.shape == (8, 32, 48) and matte.dtype == np.float32 and 0 <= matte.min() and matte.max() == 1
        np.testing.assert_array_equal(matte, render_matte(label_name, seed, 8, 32, 48))
        for t in range(8):  # the union of the actors' boxes holds the matte, to the pixel
            ys, xs = np.nonzero(matte[t] > 0)
            x0, y0, x1, y1 = union[t]
            assert np.floor(x0) <= xs.min() and xs.max() < np.ceil(x1) and np.floor(y0) <= ys.min() and ys.max() < np.ceil(y1)
        assert parse_source_path(source_path(label_name, seed)) == (label_name, seed)
    for bad in ("procedural:scene?seed=1x", "/data/a.avi", None, "procedural:wave"):
        with pytest.raises(ValueError, match="does not name a procedural clip"):
            parse_source_path(bad)


def test_actor_mattes_of_a_prepared_set_for_the_matte_critic(gate_real):
    """Each training clip's matte, in the dataset's order, from the (class, seed) its row names; footage has none."""
    from pipelines import ClipDataset
    from pipelines.sources.critic_inputs import actor_mattes, critic_inputs
    from pipelines.sources.procedural import parse_source_path, render_matte
    from schemas.config import ClipFormat, FolderSource, ProceduralSource, TrainConfig

    from tests.conftest import GATE_CLIP

    clips, clip = ClipDataset(gate_real, split="train"), ClipFormat(**GATE_CLIP)
    mattes = actor_mattes(ProceduralSource(), clips, clip)
    assert mattes.shape == (len(clips), 8, 32, 32) and mattes.dtype == np.uint8
    for i in (0, len(clips) - 1):
        name, seed = parse_source_path(clips.rows[i]["source_path"])
        assert name == clips.rows[i]["label_name"]
        np.testing.assert_array_equal(mattes[i], np.rint(render_matte(name, seed, 8, 32, 32) * 255))
        # the decoded clip changes where the matte is: the actor, in register with its clip
        video = clips.video(i).astype(np.float32)
        moving = np.abs(np.diff(video, axis=0)).max(axis=-1) > 40
        assert (np.maximum(mattes[i][1:], mattes[i][:-1])[moving] > 0).mean() > 0.9
    both = critic_inputs(ProceduralSource(), TrainConfig(scene_critic=1.0, matte_critic=1.0), clip, clips)
    assert sorted(both) == ["mattes", "scenes"] and critic_inputs(ProceduralSource(), TrainConfig(), clip, clips) == {}
    with pytest.raises(ValueError, match="only the procedural source"):
        actor_mattes(FolderSource(root="/nowhere"), clips, clip)


def test_a_matte_critic_over_footage_is_refused_before_anything_runs():
    from flows.cli import build_config
    from pydantic import ValidationError

    assert build_config("augment-surveillance", {}).train.matte_critic == 1.0  # the deployment trains with it
    with pytest.raises(ValidationError, match="only the procedural source renders; a 'ucf101' source has none"):
        build_config("augment-ucf101", {("train", "matte_critic"): 1.0})


def test_actor_mattes_refuse_clips_out_of_register_with_their_rows(gate_real):
    """A row whose source names another clip than the one stored (another renderer, another seed) is refused."""
    from pipelines import ClipDataset
    from pipelines.sources.critic_inputs import actor_mattes
    from schemas.config import ClipFormat, ProceduralSource

    from tests.conftest import GATE_CLIP

    clips = ClipDataset(gate_real, split="train")
    shifted = clips.subset(range(len(clips)))
    shifted.rows = [dict(r) for r in shifted.rows]
    shifted.rows[0]["source_path"] = shifted.rows[1]["source_path"]  # the first clip's row names the second's render
    with pytest.raises(ValueError, match="another renderer"):
        actor_mattes(ProceduralSource(), shifted, ClipFormat(**GATE_CLIP))
    shifted.rows[0]["source_path"] = None
    with pytest.raises(ValueError, match=rf"clip {shifted.rows[0]['key']}: .*does not name a procedural clip"):
        actor_mattes(ProceduralSource(), shifted, ClipFormat(**GATE_CLIP))


def test_an_index_of_the_previous_schema_version_still_reads(tmp_path):
    from pipelines.dataset.index_io import IndexFileError, read_index
    from schemas.index import INDEX_SCHEMA, SCHEMA_VERSION, SCHEMA_VERSION_KEY

    old_fields = [f for f in INDEX_SCHEMA if f.name not in ("actors", "scene", "scene_sha256", "box_coverage")]
    old = pa.schema(old_fields, metadata={SCHEMA_VERSION_KEY: b"1.0.0"})
    row = {"key": "syn-c000-000000", "label": 0, "label_name": "a", "origin": "synthetic", "split": "train",
           "shard": "shards/shard-000000.tar", "offset": 512, "size": 10, "sha256": "0" * 64, "frames": 8,
           "height": 32, "width": 32, "fps": 8.0, "codec": "h264", "boxes": [[1.0, 2.0, 3.0, 4.0]] * 8}
    pq.write_table(pa.Table.from_pylist([row], schema=old), tmp_path / "old.parquet")
    table = read_index(tmp_path / "old.parquet")
    assert SCHEMA_VERSION != "1.0.0" and table.schema.equals(INDEX_SCHEMA)
    got = table.to_pylist()[0]
    assert got["actors"] is None and got["box_coverage"] is None and got["boxes"] == row["boxes"]
    pq.write_table(pa.Table.from_pylist([row], schema=old.with_metadata({SCHEMA_VERSION_KEY: b"0.9.0"})),
                   tmp_path / "older.parquet")
    with pytest.raises(IndexFileError, match="0.9.0"):
        read_index(tmp_path / "older.parquet")


@pytest.fixture(scope="module")
def composited(tmp_path_factory):
    """A small composited clip set from an untrained generator (its masks are noise, its labels still exact)."""
    from generators import VideoGenerator, save_checkpoint
    from pipelines.jobs.composite import composite_dataset
    from schemas.config import BeamConfig, ClipFormat, GenerateConfig, ModelConfig, SurveillanceConfig, TrainConfig

    tmp = tmp_path_factory.mktemp("surveillance")
    torch.manual_seed(0)
    weights = VideoGenerator(2, 8, 8, 8, 32).state_dict()
    state = {"config": TrainConfig(model=ModelConfig(z_dim=8, channels=8)).model_dump(mode="json"),
             "clip": ClipFormat(frames=8, size=32).model_dump(mode="json"), "class_names": ["walk", "wave"],
             "step": 0, "G": weights, "G_ema": weights, "D_video": {}, "D_frame": {}, "opt_G": {}, "opt_D": {},
             "rng": torch.Generator().get_state()}
    checkpoint = save_checkpoint(tmp / "g.pt", state)
    cfg = GenerateConfig(clips_per_class=3, batch_size=4, shard_size=4, device="cpu", precision="fp32")
    surveillance = SurveillanceConfig(procedural_scenes=2, min_actors=2, max_actors=3)
    out = tmp / "version"
    composite_dataset(checkpoint, cfg, surveillance, out, BeamConfig())
    return out, checkpoint, cfg, surveillance


def test_composited_clips_carry_tracks_in_the_index_and_the_shard_json(composited):
    import tarfile

    from pipelines.dataset.index_io import read_index

    out, *_ = composited
    rows = read_index(out / "index.parquet").to_pylist()
    assert len(rows) == 6
    for row in rows:
        assert row["scene"].startswith("procedural:scene?seed=") and len(row["scene_sha256"]) == 64
        assert 2 <= len(row["actors"]) <= 3
        assert row["actors"][0]["label"] == row["label"]
        assert [a["track_id"] for a in row["actors"]] == list(range(1, len(row["actors"]) + 1))
    with tarfile.open(out / rows[0]["shard"]) as tar:
        sidecar = json.load(tar.extractfile(f"{rows[0]['key']}.json"))
    for in_json, in_index in zip(sidecar["actors"], rows[0]["actors"], strict=True):
        assert in_json["visibility"] == pytest.approx(in_index.pop("visibility"), abs=1e-6)  # float32 in the index
        assert {k: v for k, v in in_json.items() if k != "visibility"} == in_index
    assert sidecar["scene_sha256"] == rows[0]["scene_sha256"]


def test_composited_clips_are_reproducible(composited, tmp_path):
    from pipelines.dataset.index_io import read_index
    from pipelines.jobs.composite import composite_dataset
    from schemas.config import BeamConfig

    out, checkpoint, cfg, surveillance = composited
    again = tmp_path / "again"
    composite_dataset(checkpoint, cfg, surveillance, again, BeamConfig())
    a, b = read_index(out / "index.parquet"), read_index(again / "index.parquet")
    assert a.select(["key", "sha256", "actors", "scene"]).equals(b.select(["key", "sha256", "actors", "scene"]))


def test_exports_load_in_pycocotools_and_motmetrics(composited, tmp_path):
    import shutil

    import motmetrics as mm
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from pipelines.dataset.index_io import read_index
    from pipelines.release.export import write_exports

    src, *_ = composited
    version = tmp_path / "v0001"
    shutil.copytree(src, version)
    report = write_exports(version, ["walk", "wave"])
    rows = read_index(version / "index.parquet").to_pylist()
    expected_boxes = sum(b is not None for r in rows for a in r["actors"] for b in a["boxes"])
    assert report.clips == 6 and report.boxes == expected_boxes > 0

    coco = COCO(str(version / "exports" / "coco-video.json"))
    assert len(coco.getAnnIds()) == expected_boxes
    assert len(coco.getImgIds()) == 6 * 8 and {c["name"] for c in coco.loadCats(coco.getCatIds())} == {"walk", "wave"}
    ann = coco.loadAnns(coco.getAnnIds())[0]
    image = coco.loadImgs(ann["image_id"])[0]
    row = rows[ann["video_id"] - 1]
    actor = row["actors"][ann["clip_track_id"] - 1]
    x0, y0, x1, y1 = actor["boxes"][image["frame_id"]]
    assert ann["bbox"] == pytest.approx([x0, y0, x1 - x0, y1 - y0]) and ann["category_id"] == actor["label"] + 1
    assert (version / image["file_name"]).is_file()
    track_ids = {(a["video_id"], a["clip_track_id"]): a["track_id"] for a in coco.loadAnns(coco.getAnnIds())}
    assert len(set(track_ids.values())) == len(track_ids)  # unique over the file
    # The ground truth scored against itself as detections: a real evaluator, every box found.
    dets = coco.loadRes([{**a, "score": 1.0} for a in coco.loadAnns(coco.getAnnIds())])
    ev = COCOeval(coco, dets, "bbox")
    ev.params.areaRng, ev.params.areaRngLbl = [[0, 1e10]], ["all"]
    ev.evaluate(), ev.accumulate()
    assert ev.eval["precision"][0, :, :, 0, -1].max() == pytest.approx(1.0)

    acc_names, accs = [], []
    for row in rows:
        seq = version / "exports" / "mot" / row["key"]
        info = configparser.ConfigParser()
        info.read(seq / "seqinfo.ini")
        assert int(info["Sequence"]["seqLength"]) == 8 and int(info["Sequence"]["imWidth"]) == 32
        assert len(list((seq / "img1").glob("*.jpg"))) == 8
        gt = mm.io.loadtxt(str(seq / "gt" / "gt.txt"), fmt="mot15-2D", min_confidence=0)
        boxes = [(t, a["track_id"], b) for a in row["actors"] for t, b in enumerate(a["boxes"]) if b is not None]
        assert len(gt) == len(boxes)
        for t, tid, (x0, y0, x1, y1) in boxes:
            got = gt.loc[(t + 1, tid)]
            # The file is 1-based as MOTChallenge's is; motmetrics reads it back 0-based, as our boxes are.
            assert [got["X"], got["Y"], got["Width"], got["Height"]] == pytest.approx([x0, y0, x1 - x0, y1 - y0], abs=0.01)
        # motmetrics 1.4's IoU distance calls np.asfarray, gone in NumPy 2; Euclidean over the box fields works.
        tracker = gt.iloc[1:] if not accs else gt  # the first sequence's tracker misses one box
        accs.append(mm.utils.compare_to_groundtruth(gt, tracker, "euc", distth=0.5))
        acc_names.append(row["key"])
    summary = mm.metrics.create().compute_many(accs, names=acc_names, generate_overall=True,
                                               metrics=["num_objects", "num_misses", "num_switches", "mota"])
    overall = summary.loc["OVERALL"]
    assert overall["num_objects"] == expected_boxes and overall["num_misses"] == 1 and overall["num_switches"] == 0
    assert overall["mota"] == pytest.approx(1 - 1 / expected_boxes)


def test_the_gate_checks_actor_labels_with_great_expectations(composited, tmp_path):
    from pipelines.dataset.index_io import read_index, write_index
    from pipelines.release.actor_checks import box_coverage_figure
    from pipelines.release.validate import validate_index
    from schemas.expectations import IndexExpectations

    out, *_ = composited
    spec = IndexExpectations(class_names=["walk", "wave"], counts={"walk": 3, "wave": 3}, frames=8, height=32,
                             width=32, fps=8.0, origin="synthetic", actors=True)
    good = validate_index(out / "index.parquet", spec, tmp_path / "good")
    assert good.success, good.failed

    rows = read_index(out / "index.parquet").to_pylist()
    rows[0]["actors"][0]["boxes"][0] = [-3.0, 0.0, 5.0, 5.0]  # outside the frame
    rows[1]["actors"][1]["track_id"] = rows[1]["actors"][0]["track_id"]  # a repeated track id
    rows[2]["actors"][0]["event_end"] = 8  # past the last frame
    rows[3]["actors"][0]["visibility"][0] = 1.5
    bad = validate_index(write_index(rows, tmp_path / "bad.parquet"), spec, tmp_path / "bad")
    assert not bad.success
    failed = "\n".join(bad.failed)
    for column in ("actor_boxes_inside", "actor_track_ids_unique", "actor_spans_inside", "actor_visibility_valid"):
        assert column in failed
    assert sum(column in line for line in bad.failed for column in ("actor_",)) == 4  # one failure each, no more

    figure = box_coverage_figure(read_index(out / "index.parquet"), 0.9)
    values = [r["box_coverage"] for r in rows]
    assert figure.value == pytest.approx(sum(values) / len(values)) and figure.samples == {"synthetic": 6}


def test_actor_rows_with_off_frame_frames_survive_the_index(tmp_path):
    from pipelines.dataset.index_io import read_index, write_index

    actor = _rectangle_actor(size=40, left=0, width=4, step=4)
    out = composite(np.full((24, 24, 3), 100, np.uint8), [actor], [Placement(x=20, y=20, height=8.0)])
    row = {"key": "syn-c000-000000", "label": 0, "label_name": "class0", "origin": "synthetic", "split": "train",
           "shard": "shards/shard-000000.tar", "offset": 512, "size": 10, "sha256": "0" * 64, "frames": 8,
           "height": 24, "width": 24, "fps": 8.0, "codec": "h264", "actors": [t.row() for t in out.tracks]}
    back = read_index(write_index([row], tmp_path / "index.parquet")).to_pylist()[0]["actors"][0]
    assert back["boxes"][5:] == [None, None, None] and back["boxes"][4] == [20.0, 12.0, 24.0, 20.0]


def test_box_coverage_forgives_the_soft_edge_of_a_scaled_mask_and_nothing_more():
    from generators.composite import box_coverage

    actor = _rectangle_actor(step=1, colour=0.9)  # moving a pixel a frame: its footprint is 11 wide
    scene = np.full((40, 40, 3), 30, np.uint8)
    out = composite(scene, [actor], [Placement(20, 30, 5.0)])  # shrunk to 5/8: a soft pixel round the edges
    boxes = [t.boxes for t in out.tracks]
    assert box_coverage(out.video, scene, boxes, margin=0) < 0.95 and out.box_coverage == 1.0
    shrunk = [b + np.array([1, 1, -1, -1], np.float32) for b in boxes]  # boxes a pixel too small: a real miss
    assert box_coverage(out.video, scene, shrunk) < 1.0
