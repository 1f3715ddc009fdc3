"""The clip index: one Parquet row per clip, the contract with downstream readers.

The column types are fixed here and nowhere else, so that the shard writer, the
validator and every reader agree on them. The schema version travels in the
Parquet key-value metadata; bump it whenever a column changes meaning or type.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = "1.0.0"
SCHEMA_VERSION_KEY = b"vgan.schema_version"

ORIGINS = ("synthetic", "real")
SPLITS = ("train", "val", "test")

INDEX_SCHEMA = pa.schema(
    [
        pa.field("key", pa.string(), nullable=False),
        pa.field("label", pa.int32(), nullable=False),
        pa.field("label_name", pa.string(), nullable=False),
        pa.field("origin", pa.string(), nullable=False),
        pa.field("split", pa.string(), nullable=False),
        pa.field("shard", pa.string(), nullable=False),
        # Byte range of the mp4 payload inside the tar, so a reader can seek to it.
        pa.field("offset", pa.int64(), nullable=False),
        pa.field("size", pa.int64(), nullable=False),
        pa.field("sha256", pa.string(), nullable=False),
        pa.field("frames", pa.int32(), nullable=False),
        pa.field("height", pa.int32(), nullable=False),
        pa.field("width", pa.int32(), nullable=False),
        pa.field("fps", pa.float32(), nullable=False),
        pa.field("codec", pa.string(), nullable=False),
        # Synthetic rows only.
        pa.field("generator", pa.string()),
        pa.field("checkpoint_sha256", pa.string()),
        pa.field("seed", pa.int64()),
        pa.field("truncation", pa.float32()),
        # Real rows only.
        pa.field("source_path", pa.string()),
        pa.field("start_frame", pa.int64()),
        # Per-clip quality statistics.
        pa.field("flicker", pa.float32()),
        pa.field("motion", pa.float32()),
        pa.field("judge_label", pa.int32()),
        pa.field("judge_confidence", pa.float32()),
        pa.field("nn_distance", pa.float32()),
        # Per-frame foreground boxes (x0, y0, x1, y1) in pixels, where a mask exists.
        pa.field("boxes", pa.list_(pa.list_(pa.float32(), 4))),
    ],
    metadata={SCHEMA_VERSION_KEY: SCHEMA_VERSION.encode()},
)

REQUIRED_COLUMNS = tuple(f.name for f in INDEX_SCHEMA if not f.nullable)


def index_table(rows: list[dict]) -> pa.Table:
    """Build an index table from row dicts; missing optional columns become null.

    Raises ``ValueError`` naming the column when a row lacks a required field or
    has a value of the wrong type, rather than letting pyarrow guess a type.
    """
    for i, row in enumerate(rows):
        missing = [c for c in REQUIRED_COLUMNS if row.get(c) is None]
        if missing:
            raise ValueError(f"index row {i} (key={row.get('key')!r}) lacks required columns {missing}")
        unknown = set(row) - set(INDEX_SCHEMA.names)
        if unknown:
            raise ValueError(f"index row {i} has columns not in the schema: {sorted(unknown)}")
    columns = {name: [row.get(name) for row in rows] for name in INDEX_SCHEMA.names}
    return pa.Table.from_pydict(columns, schema=INDEX_SCHEMA)


def schema_version_of(table_or_schema: pa.Table | pa.Schema) -> str | None:
    """The schema version stored in a table's metadata, or None when absent."""
    schema = table_or_schema.schema if isinstance(table_or_schema, pa.Table) else table_or_schema
    meta = schema.metadata or {}
    value = meta.get(SCHEMA_VERSION_KEY)
    return value.decode() if value is not None else None
