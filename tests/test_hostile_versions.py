"""Hostile published versions: what `vgan verify` must report and `ClipDataset` must refuse, without crashing or hanging.

Each damage is built on the fly from a clean version. Where an attacker would
also re-seal the manifest (recompute its checksums), the tests do so, so the
checks that do not rest on checksums are the ones being tested.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import random
import shutil
import signal
import tarfile
import time
from pathlib import Path

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.cli import main
from pipelines import ClipDataset, ClipIntegrityError, checksums, prepare_procedural
from pipelines.dataset.index_io import IndexFileError
from pipelines.media.video_io import VideoDecodeError, decode_video
from pipelines.release.verify import verify_version
from schemas.config import BeamConfig
from tests.test_publish_verify import CLIP, SOURCE, _publish


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clips")
    prepare_procedural(SOURCE, CLIP, out, BeamConfig(), shard_size=3)
    return out


@pytest.fixture(scope="module")
def pristine(clips, tmp_path_factory) -> Path:
    """One clean published version; tests copy it before damaging it."""
    return _publish(clips, tmp_path_factory.mktemp("pristine") / "ds", "run")


@pytest.fixture
def version(pristine, tmp_path) -> Path:
    shutil.copytree(pristine.parent, tmp_path / "ds", symlinks=True)
    return tmp_path / "ds" / pristine.name


@contextlib.contextmanager
def deadline(seconds: int):
    """Fail, instead of hanging the suite, if the block blocks (a FIFO read would)."""

    def expired(*_):
        raise TimeoutError(f"took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def reseal(version: Path) -> None:
    """Recompute the manifest's checksums, as someone tampering with the version on purpose would."""
    manifest = json.loads((version / "manifest.json").read_text())
    index, shards = checksums(version)
    manifest["index"] = index.model_dump(mode="json")
    manifest["shards"] = [s.model_dump(mode="json") for s in shards]
    (version / "manifest.json").write_text(json.dumps(manifest))


def set_cell(version: Path, row: int, column: str, value, type_: pa.DataType | None = None) -> None:
    """Write ``value`` into one index cell, keeping the schema metadata (so the index still claims its version)."""
    table = pq.read_table(version / "index.parquet")
    values = table[column].to_pylist()
    if type_ is not None:  # the whole column in another type, as a foreign writer would store it
        values = [None if v is None else str(v) if pa.types.is_string(type_) else float(v) for v in values]
    values[row] = value
    field = table.schema.field(column)
    new = pa.array(values, type_ or field.type)
    table = table.set_column(table.column_names.index(column), field.with_type(new.type).with_nullable(True), new)
    pq.write_table(table, version / "index.parquet")


def add_member(tar_path: Path, name: str, data: bytes = b"x", kind: bytes = tarfile.REGTYPE, link: str = "") -> None:
    with tarfile.open(tar_path, "a") as tar:
        info = tarfile.TarInfo(name)
        info.type, info.linkname = kind, link
        info.size = len(data) if kind == tarfile.REGTYPE else 0
        tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def problems(version: Path, **kw) -> list[str]:
    with deadline(30):
        return verify_version(version, **kw).problems


def read_all(path: Path) -> None:
    with deadline(30):
        data = ClipDataset(path)
        for i in range(len(data)):
            data[i]


# --- point 4: every tar, members exactly the index's -------------------------------------------------

def test_a_tar_listed_in_the_manifest_but_not_the_index_is_reported(version):
    extra = version / "shards" / "shard-000099.tar"
    with tarfile.open(extra, "w"):
        pass
    add_member(extra, "../../evil.sh", b"rm -rf /\n")
    add_member(extra, "link.mp4", kind=tarfile.SYMTYPE, link="/etc/passwd")
    reseal(version)
    found = problems(version)
    assert any("shard-000099.tar is a tar the index does not name" in p for p in found)
    assert any("'../../evil.sh'" in p for p in found) and any("'link.mp4'" in p for p in found)


def test_a_smuggled_second_member_of_a_key_is_reported(version):
    row = ClipDataset(version).rows[0]
    add_member(version / row["shard"], f"{row['key']}.mp4", b"not the indexed clip")
    reseal(version)
    assert any(f"{row['key']}.mp4' appears 2 times" in p for p in problems(version))
    with tarfile.open(version / row["shard"]) as tar:  # what a tar reader gets: the smuggled bytes win
        assert tar.extractfile(tar.getmember(f"{row['key']}.mp4")).read() == b"not the indexed clip"


def test_a_tar_anywhere_in_the_version_is_checked(version):
    with tarfile.open(version / "extra.tar", "w"):
        pass
    assert any("extra.tar is not listed in the manifest" in p for p in problems(version))


def test_a_relabelled_row_disagrees_with_its_sidecar(version):
    set_cell(version, 0, "label", 1)
    reseal(version)
    assert any("disagrees with the index on ['label']" in p for p in problems(version))


# --- point 5: latest is confined -----------------------------------------------------------------

@pytest.mark.parametrize("target", ["../elsewhere", "ABSOLUTE", "v0001/../../elsewhere", "v0002"])
def test_latest_must_name_a_version_folder_of_its_dataset(version, target):
    dataset = version.parent
    elsewhere = dataset.parent / "elsewhere"
    shutil.copytree(version, elsewhere)
    (dataset / "latest").write_text((str(elsewhere) if target == "ABSOLUTE" else target) + "\n")
    (found,) = problems(dataset)
    assert "latest names" in found
    with pytest.raises(ClipIntegrityError, match="latest names"):
        ClipDataset(dataset)


def test_latest_that_is_not_utf8_or_a_symlinked_version_is_refused(version, tmp_path):
    dataset = version.parent
    (dataset / "latest").write_bytes(b"v\xff\n")
    with pytest.raises(ClipIntegrityError, match="cannot be read"):
        ClipDataset(dataset)
    shutil.copytree(version, tmp_path / "outside")
    os.symlink(tmp_path / "outside", dataset / "v0009")
    (dataset / "latest").write_text("v0009\n")
    assert len(problems(dataset)) == 1
    with pytest.raises(ClipIntegrityError, match="not a version folder"):
        ClipDataset(dataset)


# --- point 6: one problem line, one ClipIntegrityError -------------------------------------------

@pytest.mark.parametrize("column, value, type_, says", [
    ("offset", -5, None, "negative"),
    ("size", 2**62, None, "ends after"),
    ("offset", None, None, "empty cells"),
    ("shard", None, None, "empty cells"),
    ("offset", "12", pa.string(), "is string, not int64"),
    ("label", 1.5, pa.float64(), "is double, not int32"),
])
def test_a_bad_index_cell_is_one_problem_and_one_reader_error(version, column, value, type_, says):
    set_cell(version, 2, column, value, type_)
    reseal(version)
    found = problems(version)
    assert found and all(isinstance(p, str) for p in found) and any(says in p for p in found)
    with pytest.raises(ClipIntegrityError, match=says):
        read_all(version)


def test_a_missing_index_column_is_one_problem(version):
    table = pq.read_table(version / "index.parquet")
    pq.write_table(table.drop_columns(["sha256"]), version / "index.parquet")
    assert "index has no column 'sha256'" in problems(version)
    with pytest.raises(ClipIntegrityError, match="no column 'sha256'"):
        ClipDataset(version)


def test_a_manifest_that_is_not_utf8_is_one_problem(version):
    path = version / "manifest.json"
    path.write_bytes(path.read_bytes().replace(b'"ds"', b'"d\xff"', 1))
    found = problems(version)
    assert len(found) == 1 and "manifest.json" in found[0]


def test_a_shard_replaced_by_a_fifo_does_not_block(version):
    shard = version / "shards" / "shard-000000.tar"
    shard.unlink()
    os.mkfifo(shard)
    started = time.monotonic()
    found = problems(version)
    assert any("shard-000000.tar is listed in the manifest but missing (or not a regular file)" in p for p in found)
    data = ClipDataset(version)
    first = next(i for i, r in enumerate(data.rows) if r["shard"] == "shards/shard-000000.tar")
    with pytest.raises(ClipIntegrityError, match="not a regular file"), deadline(10):
        data[first]
    assert time.monotonic() - started < 20


def test_cli_verify_reports_a_missing_latest_version_and_a_negative_sample_in_one_line(version, capsys):
    (version.parent / "latest").write_text("v0007\n")
    assert main(["verify", str(version.parent)]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 2 and out[0].startswith("PROBLEM") and "v0007" in out[0]
    with pytest.raises(SystemExit) as exit_:
        main(["verify", str(version), "--sample", "-1"])
    assert exit_.value.code == 2
    assert "must be 0 or more, got -1" in capsys.readouterr().err.strip().splitlines()[-1]
    with pytest.raises(ValueError, match="decode_sample"):
        verify_version(version, decode_sample=-1)


def test_metadata_that_is_not_utf8_decodes_or_is_a_video_decode_error(tmp_path):
    """An mp4 whose title holds Latin-1 decodes (PyAV raised UnicodeDecodeError for it)."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as out:
        out.metadata["title"] = "XXXXTITLE"
        stream = out.add_stream("libx264", rate=8)
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p"
        for _ in range(4):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")))
        out.mux(stream.encode(None))
    data = buffer.getvalue().replace(b"XXXXTITLE", b"caf\xe9 XXXX")
    assert decode_video(data).shape == (4, 32, 32, 3)
    for cut in range(0, len(data), max(1, len(data) // 40)):  # every truncation: decoded or VideoDecodeError
        try:
            decode_video(data[:cut] + bytes(random.Random(cut).randrange(256) for _ in range(16)))
        except VideoDecodeError:
            pass


# --- the fuzz: random damage, bounded time, only project errors, every visible change reported --------

def _view(dataset: Path) -> object:
    """What readers get: ClipDataset's rows and bytes (unchecked), and every tar member's name and bytes."""
    try:
        data = ClipDataset(dataset, verify=False)
        clips = [(r["key"], r["label"], r["label_name"], hashlib.sha256(data.read_bytes(i)).hexdigest())
                 for i, r in enumerate(data.rows)]
    except (ClipIntegrityError, FileNotFoundError) as exc:
        clips = type(exc).__name__
    version = dataset / (dataset / "latest").read_text(errors="replace").strip()
    tars = {}
    for tar_path in sorted(version.rglob("*.tar")) if version.is_dir() else []:
        try:
            with tarfile.open(tar_path) as tar:
                tars[str(tar_path.relative_to(version))] = [
                    (m.name, m.type, hashlib.sha256(tar.extractfile(m).read()).hexdigest() if m.isfile() else m.linkname)
                    for m in tar]
        except (tarfile.TarError, OSError) as exc:
            tars[str(tar_path)] = type(exc).__name__
    return clips, tars


def _damage(version: Path, rng: random.Random) -> str:
    kind = rng.choice(["flip", "flip", "row", "row", "member", "tar", "truncate"])
    shards = sorted((version / "shards").glob("*.tar"))
    if kind in ("flip", "truncate"):
        path = rng.choice(shards + [version / "index.parquet"])
        data = bytearray(path.read_bytes())
        if kind == "truncate":
            del data[rng.randrange(len(data)):]
        else:
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(data))
        return f"{kind} {path.name}"
    if kind == "row":
        try:
            n = pq.read_metadata(version / "index.parquet").num_rows
        except pa.ArrowException:
            return "row (index already unreadable)"
        column, values = rng.choice([
            ("key", ["run-0000", "x.y", "../k", None]), ("label", [0, 1, 7, -1, None]),
            ("label_name", ["run", "wave", "", None]), ("split", ["train", "test", None]),
            ("shard", ["shards/shard-000000.tar", "shards/shard-000002.tar", "../x.tar", "/etc/passwd", None]),
            ("offset", [0, 512, 513, -1, 2**62, None]), ("size", [0, 1, 100, 2**62, -3, None]),
            ("sha256", ["0" * 64, None]),
        ])
        set_cell(version, rng.randrange(n), column, rng.choice(values))
        return f"row {column}"
    if kind == "member":
        shard = rng.choice(shards)
        with tarfile.open(shard) as tar:
            names = tar.getnames()
        name = rng.choice([rng.choice(names), "run-9999.mp4", "../escape.mp4", "a/b.json"])
        add_member(shard, name, rng.randbytes(rng.randint(1, 600)))
        return f"member {name}"
    extra = version / "shards" / f"shard-{rng.randint(50, 99):06d}.tar"
    with tarfile.open(extra, "w"):
        pass
    add_member(extra, rng.choice(["run-0000.mp4", "evil.json"]), b"smuggled")
    return "tar"


def test_fuzzed_versions_are_reported_never_crash_or_hang(pristine, tmp_path):
    base = _view(pristine.parent)
    started = time.monotonic()
    for case in range(36):
        rng = random.Random(case)
        dataset = tmp_path / f"case{case}"
        shutil.copytree(pristine.parent, dataset)
        version = dataset / pristine.name
        what = [_damage(version, rng) for _ in range(rng.randint(1, 2))]
        if rng.random() < 0.5:
            reseal(version)
            what.append("resealed")
        found = problems(dataset)
        with deadline(30):
            try:
                read_all(dataset)
            except (ClipIntegrityError, VideoDecodeError, IndexFileError):
                pass
        changed = _view(dataset) != base
        print(f"case {case}: {what} changed={changed} problems={len(found)} {found[:1]}")
        if changed:
            assert found, f"case {case} ({what}) changes what a reader gets, verify found nothing"
        shutil.rmtree(dataset)
    assert time.monotonic() - started < 60
