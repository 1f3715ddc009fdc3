"""Tar shards: WebDataset layout, exact byte offsets, atomic writes, bad keys refused."""

import json
import tarfile

import pytest

from pipelines.dataset.shards import ShardMember, read_member, sha256_bytes, write_shard


def _members(n=3):
    return [ShardMember(f"clip-{i:03d}", bytes([i]) * (700 + 300 * i), {"label": i}) for i in range(n)]


def test_offsets_point_at_each_payload_and_tarfile_agrees(tmp_path):
    path = tmp_path / "shards" / "shard-000000.tar"
    members = _members()
    written = write_shard(path, members)
    for m, w in zip(members, written):
        assert read_member(path, w.offset, w.size) == m.mp4
        assert w.sha256 == sha256_bytes(m.mp4)
    with tarfile.open(path) as tar:
        names = tar.getnames()
        assert names == [n for m in members for n in (f"{m.key}.mp4", f"{m.key}.json")]
        for m, w in zip(members, written):
            info = tar.getmember(f"{m.key}.mp4")
            assert info.offset_data == w.offset
            sidecar = json.load(tar.extractfile(f"{m.key}.json"))
            assert sidecar["sha256"] == w.sha256 and sidecar["label"] == m.meta["label"]


def test_identical_input_gives_identical_bytes(tmp_path):
    a, b = tmp_path / "a.tar", tmp_path / "b.tar"
    write_shard(a, _members())
    write_shard(b, _members())
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize("key", ["a.b", "a/b", "", "../x"])
def test_keys_that_readers_would_split_or_escape_are_refused(tmp_path, key):
    with pytest.raises(ValueError, match="key"):
        write_shard(tmp_path / "s.tar", [ShardMember(key, b"x")])
    assert list(tmp_path.iterdir()) == []


def test_duplicate_key_refused(tmp_path):
    with pytest.raises(ValueError, match="twice"):
        write_shard(tmp_path / "s.tar", [ShardMember("k", b"x"), ShardMember("k", b"y")])


def test_failed_write_leaves_no_file_under_the_final_name(tmp_path, monkeypatch):
    path = tmp_path / "shard-000001.tar"

    class Boom(ShardMember):
        @property
        def mp4(self):  # fails halfway through writing the tar
            raise OSError("disk full")

        @mp4.setter
        def mp4(self, value):
            pass

    with pytest.raises(OSError, match="disk full"):
        write_shard(path, [_members(1)[0], Boom("later", b"")])
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_read_past_the_end_is_an_error(tmp_path):
    path = tmp_path / "s.tar"
    w = write_shard(path, _members(1))[0]
    with pytest.raises(ValueError, match="ends after"):
        read_member(path, w.offset, path.stat().st_size)
