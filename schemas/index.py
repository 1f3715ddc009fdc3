"""The clip index: one Parquet row per clip, the contract with downstream readers.

The column types are fixed here and nowhere else, so that the shard writer, the
validator and every reader agree on them. The schema version travels in the
Parquet key-value metadata; bump it whenever a column changes meaning or type.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = "1.1.0"
SCHEMA_VERSION_KEY = b"vgan.schema_version"
READABLE_VERSIONS = ("1.0.0", SCHEMA_VERSION)
"""Versions a reader accepts: 1.1.0 only added nullable columns, so a 1.0.0 index reads with them null."""

ORIGINS = ("synthetic", "real")
SPLITS = ("train", "val", "test")

ACTOR_TYPE = pa.struct(
    [
        pa.field("track_id", pa.int32(), nullable=False),  # unique within its clip
        pa.field("label", pa.int32(), nullable=False),
        pa.field("label_name", pa.string(), nullable=False),
        # Per frame: x0, y0, x1, y1 in pixels (exclusive right/bottom), clipped to the frame; null where the
        # actor is wholly off-frame. Occluded frames keep their box (as MOTChallenge does) with a low visibility.
        # A variable-size list: Parquet gives a fixed-size list with null entries back damaged (pyarrow 25).
        pa.field("boxes", pa.list_(pa.list_(pa.float32())), nullable=False),
        # Per frame: share of the actor's own pixels that are inside the frame and not covered by an actor in front.
        pa.field("visibility", pa.list_(pa.float32()), nullable=False),
        # First and last frame (0-based, inclusive) in which the actor moves; null if it never does.
        pa.field("event_start", pa.int32()),
        pa.field("event_end", pa.int32()),
    ]
)

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
        # Since 1.1.0, surveillance labels: one entry per actor (see ACTOR_TYPE), where actors are known
        # (composited clips, procedural clips), and the camera scene a composited clip was placed in.
        pa.field("actors", pa.list_(ACTOR_TYPE)),
        pa.field("scene", pa.string()),
        pa.field("scene_sha256", pa.string()),
        # Share of the pixels the actors changed (against the scene) that lie inside their boxes, raw pixels.
        pa.field("box_coverage", pa.float32()),
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


def upgrade_table(table: pa.Table, version: str | None) -> pa.Table:
    """An index table of a readable older version in today's schema: nullable columns it predates become null.

    A damaged table (a required column missing, a wrong type, nulls where none
    belong) is returned uncast, so that the reader and the verifier can name
    each fault (``pipelines.dataset.index_io.column_problems``) instead of
    failing on the first one here.
    """
    if version not in READABLE_VERSIONS:
        raise ValueError(f"index schema version {version!r} cannot be read; readable: {READABLE_VERSIONS}")
    for f in INDEX_SCHEMA:
        if f.name not in table.column_names and f.nullable:
            table = table.append_column(f, pa.nulls(table.num_rows, f.type))
    names = [n for n in INDEX_SCHEMA.names if n in table.column_names]
    table = table.select(names + [n for n in table.column_names if n not in INDEX_SCHEMA.names])
    if table.schema.names == INDEX_SCHEMA.names and all(table.schema.field(f.name).type == f.type for f in INDEX_SCHEMA):
        try:  # only nullability and field metadata can differ here; a cast never converts a wrong type
            table = table.cast(INDEX_SCHEMA)
        except (pa.ArrowException, ValueError, TypeError):
            pass  # nulls where none belong: reported column by column by its reader
    return table.replace_schema_metadata(INDEX_SCHEMA.metadata)


def schema_version_of(table_or_schema: pa.Table | pa.Schema) -> str | None:
    """The schema version stored in a table's metadata, or None when absent."""
    schema = table_or_schema.schema if isinstance(table_or_schema, pa.Table) else table_or_schema
    meta = schema.metadata or {}
    value = meta.get(SCHEMA_VERSION_KEY)
    return value.decode() if value is not None else None
