"""Publishing is atomic and numbered under a lock; `vgan verify` finds what is wrong with a version."""

from __future__ import annotations

import io
import shutil
import tarfile
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from flows.cli import main
from pipelines import ClipDataset, ClipIntegrityError, candidate_dir, checksums, prepare_procedural, publish_version
from pipelines.dataset.index_io import write_index
from pipelines.release.verify import verify_version
from schemas.config import BeamConfig, ClipFormat, ProceduralSource
from schemas.manifest import Manifest, Provenance, ValidationSummary

SOURCE = ProceduralSource(classes=["run", "wave"], clips_per_class=4, seed=5)
CLIP = ClipFormat(frames=8, size=32, fps=8)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    """A finished candidate's content: shards + index, made by the real Beam pipeline."""
    out = tmp_path_factory.mktemp("clips")
    prepare_procedural(SOURCE, CLIP, out, BeamConfig(), shard_size=3)
    return out


def _manifest_for(candidate: Path):
    index_entry, shard_entries = checksums(candidate)
    rows = pq.read_table(candidate / "index.parquet").to_pylist()

    def make(version: str) -> Manifest:
        return Manifest(
            dataset="ds",
            version=version,
            clips=len(rows),
            class_names=["run", "wave"],
            counts={"run": 4, "wave": 4},
            clip_format={"frames": 8, "height": 32, "width": 32, "fps": 8.0, "codec": "h264"},
            index=index_entry,
            shards=shard_entries,
            provenance=Provenance(checkpoint_sha256="0" * 64, real_index_sha256="0" * 64, config={},
                                  code_version="test", created_at="2026-01-01T00:00:00+00:00"),
            validation=ValidationSummary(success=True, evaluated=0, failed=[]),
        )

    return make


def _publish(clips: Path, dataset: Path, run_key: str) -> Path:
    candidate = candidate_dir(dataset, run_key)
    shutil.copytree(clips, candidate)
    return publish_version(candidate, dataset, _manifest_for(candidate), lambda m: f"# {m.version}\n")


@pytest.fixture
def version(clips, tmp_path) -> Path:
    return _publish(clips, tmp_path / "ds", "run")


def test_a_clean_version_verifies(version, capsys):
    report = verify_version(version)
    assert report.ok, report.problems
    assert report.clips_checked == report.clips_decoded == 8 and report.files_checked == 4
    assert main(["verify", str(version.parent)]) == 0
    assert "0 problems" in capsys.readouterr().out


def test_concurrent_publishes_get_distinct_versions_and_latest_moves_last(clips, tmp_path):
    dataset = tmp_path / "ds"
    results: list[Path] = []
    threads = [threading.Thread(target=lambda k=k: results.append(_publish(clips, dataset, f"run{k}"))) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(p.name for p in results) == ["v0001", "v0002", "v0003", "v0004"]
    assert (dataset / "latest").read_text().strip() == "v0004"
    for p in results:
        assert verify_version(p).ok


def test_a_candidate_without_an_index_is_not_published(tmp_path):
    dataset = tmp_path / "ds"
    candidate = candidate_dir(dataset, "broken")
    candidate.mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="index.parquet"):
        publish_version(candidate, dataset, lambda v: None, lambda m: "")
    assert not (dataset / "latest").exists() and not list(dataset.glob("v*"))


def test_a_flipped_byte_is_found_by_verify_and_by_the_reader(version, capsys):
    row = ClipDataset(version).rows[2]
    with open(version / row["shard"], "r+b") as f:
        f.seek(row["offset"] + 10)
        b = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([b[0] ^ 1]))
    problems = verify_version(version).problems
    assert any(row["shard"] in p and "manifest" in p for p in problems)
    assert any(row["key"] in p and "sha256" in p for p in problems)
    assert main(["verify", str(version)]) == 1
    assert "PROBLEM" in capsys.readouterr().out
    with pytest.raises(ClipIntegrityError, match=row["key"]):
        ClipDataset(version)[2]


def test_missing_and_unlisted_shards_are_reported(version):
    (version / "shards" / "shard-000000.tar").rename(version / "shards" / "shard-000099.tar")
    problems = verify_version(version).problems
    assert any("shard-000000.tar is listed in the manifest but missing" in p for p in problems)
    assert any("shard-000099.tar is not listed" in p for p in problems)


def test_an_index_pointing_outside_the_version_is_refused(version):
    table = pq.read_table(version / "index.parquet").to_pylist()
    table[0]["shard"] = "../../outside.tar"
    write_index(table, version / "index.parquet")
    assert any("outside the version" in p for p in verify_version(version, decode_sample=0).problems)
    data = ClipDataset(version, verify=False)
    i = next(i for i, r in enumerate(data.rows) if r["shard"] == "../../outside.tar")
    with pytest.raises(ClipIntegrityError, match="outside"):
        data.read_bytes(i)


def test_a_tar_member_with_an_escaping_path_is_reported(version):
    shard = version / "shards" / "shard-000001.tar"
    with tarfile.open(shard, "a") as tar:
        info = tarfile.TarInfo("../../evil.sh")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"rm\n"))
    problems = verify_version(version, decode_sample=2).problems
    assert any("'../../evil.sh'" in p for p in problems)
