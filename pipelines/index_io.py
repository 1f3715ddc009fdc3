"""Reading and writing the Parquet clip index, atomically and with its schema version checked."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pyarrow.parquet as pq

from schemas.index import INDEX_SCHEMA, SCHEMA_VERSION, index_table, schema_version_of


class IndexFileError(ValueError):
    """An index file that is missing, unreadable or of another schema version."""


def write_index(rows_or_table: list[dict] | pa.Table, path: str | os.PathLike, extra_metadata: dict | None = None) -> Path:
    """Write the index sorted by key, under a temporary name first, then rename.

    Sorting makes the file a pure function of its rows, whatever order Beam
    workers finished in, so identical runs give identical bytes.
    """
    table = rows_or_table if isinstance(rows_or_table, pa.Table) else index_table(rows_or_table)
    table = table.cast(INDEX_SCHEMA).sort_by("key")
    meta = dict(INDEX_SCHEMA.metadata)
    for k, v in (extra_metadata or {}).items():
        meta[k.encode() if isinstance(k, str) else k] = v.encode() if isinstance(v, str) else v
    table = table.replace_schema_metadata(meta)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        pq.write_table(table, tmp, compression="zstd")
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def read_index(path: str | os.PathLike) -> pa.Table:
    """Read an index and refuse one written under another schema version."""
    path = Path(path)
    if not path.is_file():
        raise IndexFileError(f"no clip index at {path}")
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise IndexFileError(f"cannot read clip index {path}: {exc}") from exc
    version = schema_version_of(table)
    if version != SCHEMA_VERSION:
        raise IndexFileError(f"{path} has index schema version {version!r}; this code reads {SCHEMA_VERSION!r}")
    return table


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The key-value metadata of a Parquet file, decoded, without reading its rows."""
    meta = pq.read_schema(path).metadata or {}
    return {k.decode(): v.decode() for k, v in meta.items()}


def merge_indexes(parts: list[str | os.PathLike], path: str | os.PathLike) -> Path:
    """Concatenate per-shard index parts into one index; a key seen twice is an error."""
    tables = [read_index(p) for p in sorted(map(str, parts))]
    table = pa.concat_tables(tables) if tables else INDEX_SCHEMA.empty_table()
    keys = table.column("key")
    if len(keys) != len(pa.compute.unique(keys)):
        dup = table.group_by("key").aggregate([("key", "count")]).filter(pa.compute.field("key_count") > 1)
        raise IndexFileError(f"duplicate keys across shards: {dup.column('key').to_pylist()[:10]}")
    return write_index(table, path)


def per_class_means(table: pa.Table, columns: tuple[str, ...] = ("motion", "flicker")) -> dict[str, dict[str, float]]:
    """Mean of each quality column per class name, for the dataset card and the run's artifacts."""
    grouped = table.group_by("label_name").aggregate([(c, "mean") for c in columns] + [("key", "count")])
    out = {}
    for row in grouped.to_pylist():
        out[row["label_name"]] = {c: row[f"{c}_mean"] for c in columns} | {"clips": row["key_count"]}
    return out
