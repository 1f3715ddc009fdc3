"""Listing real datasets laid out as their releases are: labels, splits, quirks, and one clear error for a wrong root."""

import os
import shutil

import pytest

from pipelines import LayoutError, input_fingerprint, list_videos, source_classes
from schemas.config import FolderSource, HMDB51Source, KineticsSource, UCF101Source
from tests.videos import append_to_list, write_class_folders, write_hmdb51, write_kinetics, write_ucf101

UCF_CLASSES = ["ApplyEyeMakeup", "HandstandPushups", "Basketball"]


@pytest.fixture(scope="module")
def ucf(tmp_path_factory):
    root = tmp_path_factory.mktemp("ucf")
    write_ucf101(root, UCF_CLASSES, groups=(1, 8, 15), frames=2)
    return root


@pytest.mark.parametrize("split, test_group", [(1, 1), (2, 8), (3, 15)])
def test_ucf101_labels_follow_classind_and_splits_follow_the_lists(ucf, split, test_group):
    listing = list_videos(UCF101Source(root=str(ucf / "UCF-101"), split=split))
    assert listing.class_names == UCF_CLASSES and not listing.quarantined
    assert len(listing.videos) == 9
    for v in listing.videos:
        assert v.label_name == UCF_CLASSES[v.label] == v.source_path.split("/")[0]
        assert v.split == ("test" if f"_g{test_group:02d}_" in v.source_path else "train")
        assert os.path.isfile(v.path) and v.time_range is None


def test_ucf101_class_is_the_folder_not_the_file_name(ucf):
    listing = list_videos(UCF101Source(root=str(ucf)))  # the parent of UCF-101/ is accepted too
    handstand = [v for v in listing.videos if v.label == 1]
    assert [v.source_path for v in handstand] == [f"HandstandPushups/v_HandStandPushups_g{g:02d}_c01.avi" for g in (1, 8, 15)]
    assert all(v.label_name == "HandstandPushups" for v in handstand)


def test_ucf101_lists_inside_the_videos_folder_or_named_explicitly(ucf, tmp_path):
    videos = tmp_path / "UCF101_videos"
    shutil.copytree(ucf / "UCF-101", videos)
    shutil.copytree(ucf / "ucfTrainTestlist", videos / "ucfTrainTestlist")
    assert len(list_videos(UCF101Source(root=str(videos))).videos) == 9
    elsewhere = tmp_path / "lists"
    shutil.move(videos / "ucfTrainTestlist", elsewhere)
    with pytest.raises(LayoutError, match="ucfTrainTestlist/classInd.txt"):
        list_videos(UCF101Source(root=str(videos)))
    assert len(list_videos(UCF101Source(root=str(videos), splits_dir=str(elsewhere))).videos) == 9


def test_ucf101_subset_keeps_the_requested_order_and_names_unknown_classes(ucf):
    listing = list_videos(UCF101Source(root=str(ucf), classes=["Basketball", "ApplyEyeMakeup"]))
    assert listing.class_names == ["Basketball", "ApplyEyeMakeup"]
    assert {(v.label, v.source_path.split("/")[0]) for v in listing.videos} == {(0, "Basketball"), (1, "ApplyEyeMakeup")}
    with pytest.raises(LayoutError, match=r"\['Moonwalk', 'Juggle'\]"):
        list_videos(UCF101Source(root=str(ucf), classes=["Basketball", "Moonwalk", "Juggle"]))


def test_ucf101_listed_paths_that_do_not_exist_are_quarantined(ucf, tmp_path):
    root = tmp_path / "ucf"
    shutil.copytree(ucf, root)
    append_to_list(root / "ucfTrainTestlist" / "trainlist01.txt", "Basketball/v_Basketball_g25_c07.avi 3")
    (root / "UCF-101" / "Basketball" / "v_Basketball_g08_c01.avi").rename(root / "UCF-101" / "Basketball" / "V_BASKETBALL_G08_C01.AVI")
    listing = list_videos(UCF101Source(root=str(root)))
    assert [(q.path, q.reason) for q in listing.quarantined] == [
        (str(root / "UCF-101" / "Basketball" / "v_Basketball_g25_c07.avi"), "listed in trainlist01.txt but not found")
    ]
    # A listed name whose case differs from the disk's is still found.
    assert "Basketball/V_BASKETBALL_G08_C01.AVI" in {v.source_path for v in listing.videos}


def test_a_root_that_is_not_the_layout_gets_one_error_saying_what_was_expected(ucf, tmp_path):
    with pytest.raises(LayoutError, match="does-not-exist is not a folder; expected the UCF-101 release"):
        list_videos(UCF101Source(root=str(tmp_path / "does-not-exist")))
    (tmp_path / "videos" / "walk").mkdir(parents=True)
    with pytest.raises(LayoutError, match="no UCF-101 split lists: looked for .*classInd.txt"):
        list_videos(UCF101Source(root=str(tmp_path / "videos")))
    shutil.copytree(ucf / "ucfTrainTestlist", tmp_path / "ucfTrainTestlist")
    with pytest.raises(LayoutError, match="holds none of the 3 class folders"):
        list_videos(UCF101Source(root=str(tmp_path / "videos")))
    with pytest.raises(LayoutError, match="no HMDB-51 split files"):
        list_videos(HMDB51Source(root=str(ucf / "UCF-101")))


def test_hmdb51_flags_give_splits_and_unused_videos_are_left_out(tmp_path):
    videos = write_hmdb51(tmp_path, {
        "brush_hair": {"Brush_my_hair_(1)_u_nm_np1_ba_goo_0.avi": 1, "brushing_hair_2_h_nm_np1_fr_med_1.avi": 2,
                       "unused_clip_0.avi": 0},
        "cartwheel": {"Cartwheel_#1_f_cm_np1_le_med_0.avi": 2, "cartwheel_show_f_cm_np1_ba_med_3.avi": 1},
    }, frames=2)
    (videos / "cartwheel" / "cartwheel_show_f_cm_np1_ba_med_3.avi").unlink()
    listing = list_videos(HMDB51Source(root=str(videos), split=2))
    assert listing.class_names == ["brush_hair", "cartwheel"]
    assert [(v.label, v.split, v.source_path) for v in listing.videos] == [
        (0, "train", "brush_hair/Brush_my_hair_(1)_u_nm_np1_ba_goo_0.avi"),
        (0, "test", "brush_hair/brushing_hair_2_h_nm_np1_fr_med_1.avi"),
        (1, "test", "cartwheel/Cartwheel_#1_f_cm_np1_le_med_0.avi"),
    ]
    assert [q.reason for q in listing.quarantined] == ["listed in cartwheel_test_split2.txt but not found"]


def test_kinetics_csv_labels_splits_and_time_ranges(tmp_path):
    csv, videos = write_kinetics(tmp_path, [
        ("air drumming", "-abc_123", 2, 4, "train"),
        ("air drumming", "zzz", 0, 2, "validate"),
        ("yoga", "whole_1", 1, 3, "train"),
    ], full={"whole_1"}, fps=5)
    with open(csv, "a") as f:
        f.write("yoga,gone_404,10,20,train\n")
    listing = list_videos(KineticsSource(root=str(videos), csv=str(csv)))
    assert listing.class_names == ["air drumming", "yoga"]
    got = [(v.label, v.split, v.source_path, v.time_range) for v in listing.videos]
    assert got == [
        (0, "train", "train/air drumming/-abc_123_000002_000004.mp4", None),
        (0, "val", "validate/air drumming/zzz_000000_000002.mp4", None),
        (1, "train", "whole_1.mp4", (1.0, 3.0)),  # a whole video: the segment is cut from it
    ]
    assert [q.path for q in listing.quarantined] == [str(videos / "gone_404_000010_000020")]
    csv.write_text("label,youtube_id,start,end\nyoga,x,1,2\n")
    with pytest.raises(LayoutError, match=r"lacks the columns \['time_start', 'time_end', 'split'\]"):
        list_videos(KineticsSource(root=str(videos), csv=str(csv)))


def test_class_folders_get_a_seeded_split(tmp_path):
    root = write_class_folders(tmp_path / "data", {"run": 4, "jump": 8}, frames=2)
    (root / "jump" / "notes.txt").write_text("not a video")
    (root / "empty").mkdir()
    source = FolderSource(root=str(root), test_fraction=0.25, split_seed=1)
    listing = list_videos(source)
    assert listing.class_names == ["jump", "run"] == source_classes(source)
    assert [sum(v.split == "test" for v in listing.videos if v.label == c) for c in (0, 1)] == [2, 1]
    assert listing == list_videos(source)
    others = [list_videos(FolderSource(root=str(root), split_seed=s)).videos for s in range(2, 6)]
    assert any(o != listing.videos for o in others)
    with pytest.raises(LayoutError, match="no class folder holding videos"):
        list_videos(FolderSource(root=str(root / "empty")))


def test_fingerprint_follows_the_files(tmp_path):
    root = write_class_folders(tmp_path / "data", {"run": 2, "jump": 2}, frames=2)
    source = FolderSource(root=str(root))
    first = input_fingerprint(source)
    assert input_fingerprint(source) == first
    os.utime(root / "run" / "clip00.mp4", ns=(1, 1))
    touched = input_fingerprint(source)
    assert touched != first
    (root / "run" / "clip02.mp4").write_bytes(b"")
    assert input_fingerprint(source) not in (first, touched)
