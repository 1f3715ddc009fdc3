"""Hostile real datasets: class names that are paths, odd files, non-UTF-8 names, long videos.

Every input is built on the fly; each test is one way a downloaded dataset can
be hostile or broken, and what must happen instead of a crash or a write
outside the output folder.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipelines import (
    ClipDataset,
    LayoutError,
    NothingIngested,
    ingest_videos,
    list_videos,
    read_index,
)
from pipelines.jobs.prepare import prepare_procedural
from pipelines.release.publish import write_previews
from pipelines.sources.listing import path_text, text_path
from schemas.config import (
    BeamConfig,
    ClipFormat,
    FolderSource,
    HMDB51Source,
    KineticsSource,
    ProceduralSource,
    UCF101Source,
)
from schemas.layout import preview_path
from tests.videos import (
    garbage,
    write_class_folders,
    write_hmdb51,
    write_kinetics,
    write_ucf101,
    write_video,
)

CLIP = ClipFormat(frames=8, size=32, fps=12.5)

def _files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")} if folder.exists() else set()


@pytest.mark.parametrize("ext", ["png", "gif"])
@pytest.mark.parametrize("name", ["../../../x/KIN", "/tmp/x/KIN", "..", "", "a\nb", "air drumming", "\udcff"])
def test_preview_paths_stay_in_the_preview_folder(tmp_path, name, ext):
    path = preview_path(tmp_path / "v0001", 3, name, ext)
    assert path.parent == tmp_path / "v0001" / "preview"
    assert path.name.startswith("003-") and path.suffix == f".{ext}"
    assert path.resolve().is_relative_to((tmp_path / "v0001" / "preview").resolve())


def test_previews_of_hostile_class_names_stay_inside_the_version(tmp_path):
    """The writer itself: whatever the names, every preview lands under ``preview/``."""
    version = tmp_path / "out" / "ds" / "v0001"
    prepare_procedural(ProceduralSource(classes=["run", "wave"], clips_per_class=4, seed=1),
                       ClipFormat(frames=8, size=32, fps=4), version, BeamConfig(), shard_size=4)
    escape = tmp_path / "escape"
    names = ["../" * 12 + f"{escape.relative_to('/')}/KIN", f"{escape}/KIN"]  # relative and absolute
    before = _files_under(tmp_path) - _files_under(version)
    written = write_previews(version, names, per_class=1, fps=4)
    assert len(written) == 4 and all(p.parent == version / "preview" for p in written)
    assert _files_under(tmp_path) - _files_under(version) == before and not escape.exists()


def _hostile_ucf(root: Path, bad: str) -> UCF101Source:
    write_ucf101(root, ["Basketball"], groups=(1, 8), frames=2)
    (root / "ucfTrainTestlist" / "classInd.txt").write_bytes(f"1 Basketball\r\n2 {bad}\r\n".encode())
    return UCF101Source(root=str(root))


def _hostile_hmdb(root: Path, bad: str) -> HMDB51Source:
    write_hmdb51(root, {"brush_hair": {"a.avi": 1, "b.avi": 2}}, frames=2)
    (root / "testTrainMulti_7030_splits" / f"{bad}_test_split1.txt").write_text("a.avi 1\n")
    return HMDB51Source(root=str(root / "hmdb51"))


def _hostile_kinetics(root: Path, bad: str) -> KineticsSource:
    csv, videos = write_kinetics(root, [("yoga", "abc", 0, 1, "train")], fps=4)
    with open(csv, "a") as f:
        f.write(f"{bad},abc,0,1,train\n")
    return KineticsSource(root=str(videos), csv=str(csv))


def _hostile_folder(root: Path, bad: str) -> FolderSource:
    write_class_folders(root / "data", {"run": 2}, frames=2)
    shutil.copytree(root / "data" / "run", root / "data" / bad)  # str paths carry non-UTF-8 bytes as surrogates
    return FolderSource(root=str(root / "data"))


@pytest.mark.parametrize("kind, bad", [
    ("ucf101", "../../../tmp/x/KIN"),
    ("ucf101", "/tmp/x/KIN"),
    ("hmdb51", ".."),  # a split file named .._test_split1.txt
    ("kinetics", "../../../tmp/x/KIN"),
    ("kinetics", "/tmp/x/KIN"),
    ("folder", "bad\nname"),
    ("folder", "caf\udce9"),  # a folder name in Latin-1: not UTF-8
])
def test_a_class_name_that_is_a_path_or_not_text_is_refused_at_listing(tmp_path, kind, bad):
    make = {"ucf101": _hostile_ucf, "hmdb51": _hostile_hmdb, "kinetics": _hostile_kinetics, "folder": _hostile_folder}
    source = make[kind](tmp_path, bad)
    with pytest.raises(LayoutError, match="unusable class names") as err:
        list_videos(source)
    assert repr(bad) in str(err.value) and "--source-classes" in str(err.value)
    good = {"ucf101": "Basketball", "hmdb51": "brush_hair", "kinetics": "yoga", "folder": "run"}[kind]
    listing = list_videos(source.model_copy(update={"classes": [good]}))  # the others stay usable
    assert listing.class_names == [good] and listing.videos


def test_a_kinetics_csv_that_is_not_utf8_is_one_layout_error(tmp_path):
    csv, videos = write_kinetics(tmp_path, [("yoga", "abc", 0, 1, "train")], fps=4)
    csv.write_bytes(csv.read_bytes() + "caf\xe9,abc,0,1,train\n".encode("latin-1"))
    with pytest.raises(LayoutError, match="is not UTF-8 text"):
        list_videos(KineticsSource(root=str(videos), csv=str(csv)))


def _avi_with_latin1_title(path: Path, frames: int = 40) -> Path:
    """A readable XviD AVI whose title tag holds byte 0xe9 (Latin-1 'é'), as old Windows tools wrote them."""
    write_video(path, frames, title="XXXXTITLE")
    data = path.read_bytes()
    assert data.count(b"XXXXTITLE") == 1
    path.write_bytes(data.replace(b"XXXXTITLE", b"caf\xe9 XXXX"))  # same length: the RIFF sizes stay right
    return path


def test_odd_files_are_ingested_or_quarantined_never_stop_the_run(tmp_path):
    """A Latin-1 title tag, a non-UTF-8 file name, a garbage file with a non-UTF-8 name: one run, every one accounted for."""
    root = write_class_folders(tmp_path / "data", {"jump": 2, "run": 1}, frames=40, ext=".avi")
    _avi_with_latin1_title(root / "run" / "title.avi")
    shutil.copy(root / "run" / "clip00.avi", root / "run" / "\udcff.avi")  # a name holding byte 0xff
    garbage(root / "run" / "bad\udce9.avi")
    report = ingest_videos(FolderSource(root=str(root), test_fraction=0.3), CLIP, tmp_path / "out", BeamConfig())
    assert report.videos_ingested == 5 and report.clips == 5
    index = read_index(report.index).to_pylist()
    assert sorted(r["source_path"] for r in index if r["label"] == 1) == ["run/\\xff.avi", "run/clip00.avi", "run/title.avi"]
    written = json.loads(report.quarantine.read_text(encoding="utf-8"))
    (entry,) = written["quarantined"]
    assert entry["path"].endswith("run/bad\\xe9.avi") and entry["reason"].startswith("not a readable video file")
    assert text_path(entry["path"]) == str(root / "run" / "bad\udce9.avi") and Path(text_path(entry["path"])).is_file()
    data = ClipDataset(tmp_path / "out")
    title = next(i for i, r in enumerate(data.rows) if r["key"] == next(x["key"] for x in index if x["source_path"] == "run/title.avi"))
    assert data.video(title).shape == (8, 32, 32, 3)


@pytest.mark.parametrize("path", ["a/b.avi", "caf\udce9/\udcff.avi", "a\\b", "a\\xff", "ü\\x5c"])
def test_path_text_round_trips_every_name(path):
    text = path_text(path)
    text.encode("utf-8")  # storable as UTF-8
    assert text_path(text) == path
    assert (text == path) == ("\\" not in path and path.isprintable() and not any(0xDC80 <= ord(c) <= 0xDCFF for c in path))


def test_a_class_whose_every_video_is_quarantined_is_an_error_naming_it(tmp_path):
    root = write_class_folders(tmp_path / "data", {"jump": 2, "run": 2}, frames=40)
    for video in (root / "run").iterdir():
        video.write_bytes(b"not a video")
    with pytest.raises(NothingIngested, match=r"classes \['run'\] of .* got no clip"):
        ingest_videos(FolderSource(root=str(root)), CLIP, tmp_path / "out", BeamConfig())
    assert json.loads((tmp_path / "out" / "quarantine.json").read_text())["videos_quarantined"] == 2
