"""Reading and writing the Parquet clip index, atomically and with its schema version checked."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pyarrow.parquet as pq

from schemas.atomic import atomic_path
from schemas.index import INDEX_SCHEMA, READABLE_VERSIONS, index_table, schema_version_of, upgrade_table


class IndexFileError(ValueError):
    """An index file that is missing, unreadable or of another schema version."""


def write_index(rows_or_table: list[dict] | pa.Table, path: str | os.PathLike, extra_metadata: dict | None = None) -> Path:
    """Write the index rows in the order given, under a temporary name first, then rename.

    Callers give rows in shard order, each shard's in the order of its tar, so
    reading the index front to back reads the shards front to back, and
    identical runs give identical bytes whatever order Beam workers finished in.
    """
    table = rows_or_table if isinstance(rows_or_table, pa.Table) else index_table(rows_or_table)
    meta = dict(INDEX_SCHEMA.metadata)
    for k, v in (extra_metadata or {}).items():
        meta[k.encode() if isinstance(k, str) else k] = v.encode() if isinstance(v, str) else v
    table = table.cast(INDEX_SCHEMA).replace_schema_metadata(meta)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return Path(path)



def read_index(path: str | os.PathLike) -> pa.Table:
    """Read an index in today's schema; an older readable version gets its newer (nullable) columns as nulls.

    One written under a version this code does not know is refused.
    """
    path = Path(path)
    if not path.is_file():
        raise IndexFileError(f"no clip index at {path}")
    try:
        table = pq.read_table(path)
        version = schema_version_of(table)
    except (pa.ArrowException, OSError, ValueError) as exc:  # any damage to the file, its footer or its metadata
        raise IndexFileError(f"cannot read clip index {path}: {exc}") from exc
    version = schema_version_of(table)
    if version not in READABLE_VERSIONS:
        raise IndexFileError(f"{path} has index schema version {version!r}; this code reads {READABLE_VERSIONS}")
    return upgrade_table(table, version)


def column_problems(table: pa.Table, columns: Iterable[str]) -> list[str]:
    """What is wrong with ``columns`` of an index table: missing, of another type than the schema's, or holding nulls.

    A reader or the verifier looks at these columns row by row, so it checks
    them once up front and reports a damaged index in words instead of
    failing on the first ``None`` or string where a number belongs.
    """
    problems = []
    for name in columns:
        want = INDEX_SCHEMA.field(name).type
        if name not in table.column_names:
            problems.append(f"index has no column {name!r}")
        elif not table.schema.field(name).type.equals(want):
            problems.append(f"index column {name!r} is {table.schema.field(name).type}, not {want}")
        elif table[name].null_count:
            problems.append(f"index column {name!r} has {table[name].null_count} empty cells")
    return problems


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The key-value metadata of a Parquet file, decoded, without reading its rows."""
    meta = pq.read_schema(path).metadata or {}
    return {k.decode(): v.decode() for k, v in meta.items()}


# Rows per row group of a merged index: a few MiB of index, so the merge holds
# that much whatever the clip count, and readers can still skip by statistics.
MERGE_ROW_GROUP = 4096


def merge_indexes(parts: Iterable[str | os.PathLike], path: str | os.PathLike) -> Path:
    """Concatenate per-shard index parts, in the order given, into one index, a part at a time.

    At most one row group's rows are held, so memory does not grow with the
    clip count. Keys are not checked for duplicates here: a part counts as
    finished only when it holds exactly its shard's planned keys
    (``ShardJob.finished``), and a plan's keys are unique by construction.
    """
    pending = INDEX_SCHEMA.empty_table()
    with atomic_path(path) as tmp, pq.ParquetWriter(tmp, INDEX_SCHEMA, compression="zstd") as writer:
        for part in parts:
            pending = pa.concat_tables([pending, read_index(part).cast(INDEX_SCHEMA)])
            if pending.num_rows >= MERGE_ROW_GROUP:
                writer.write_table(pending.slice(0, MERGE_ROW_GROUP))
                pending = pending.slice(MERGE_ROW_GROUP).combine_chunks()
        if pending.num_rows:
            writer.write_table(pending)
    return Path(path)


def per_class_means(table: pa.Table, columns: tuple[str, ...] = ("motion", "flicker")) -> dict[str, dict[str, float]]:
    """Mean of each quality column per class name, for the dataset card and the run's artifacts."""
    grouped = table.group_by("label_name").aggregate([(c, "mean") for c in columns] + [("key", "count")])
    out = {}
    for row in grouped.to_pylist():
        out[row["label_name"]] = {c: row[f"{c}_mean"] for c in columns} | {"clips": row["key_count"]}
    return out
