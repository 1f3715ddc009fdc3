"""Per-clip data work: sources, Beam pipelines, shards, the index, validation and publishing.

The surface used from outside (flows, users, tests) is re-exported here lazily,
so that reading a dataset with :class:`ClipDataset` does not import Beam.

- ``ClipDataset(path)``: PyTorch-style dataset over a published version.
- ``MixedClips(real, synthetic, synthetic_fraction)``, ``ClipTransform``: an ``IterableDataset``
  of real clips mixed with synthetic versions, sharded over ranks and workers, for training.
- ``read_index(path)``: the Parquet clip index as a pyarrow table.
- ``prepare_procedural(...)``: the built-in procedural set as a real clip dataset (Beam).
- ``ingest_videos(source, ...)``: real videos (UCF-101, HMDB-51, Kinetics CSV, class folders)
  as a real clip dataset with a quarantine report (Beam); ``list_videos(source)`` lists one
  without decoding, ``input_fingerprint(source)`` keys its cache, ``LayoutError`` is a root
  that is not the expected layout.
- ``source_classes(source)``: class names of any source, in label order.
- ``generate_dataset(...)``: synthetic clips from a checkpoint (Beam).
- ``assess_candidate(...)``, ``gate_candidate(...)``: the quality gate's measurements (judge, Frechet
  distance, fidelity, diversity, memorisation) and the whole gate (measurements + both GX suites).
- ``validate_index(...)``: the Great Expectations gate with Data Docs.
- ``publish_version(...)``: atomic versioned publishing.
"""

from importlib import import_module

_SURFACE = {
    "ClipDataset": "pipelines.dataset.reader",
    "ClipIntegrityError": "pipelines.dataset.reader",
    "resolve_version": "pipelines.dataset.reader",
    "MixedClips": "pipelines.dataset.mixing",
    "ClipTransform": "pipelines.dataset.mixing",
    "ArrayClips": "pipelines.dataset.mixing",
    "MixRecipe": "pipelines.dataset.mixing",
    "read_index": "pipelines.dataset.index_io",
    "prepare_procedural": "pipelines.jobs.prepare",
    "source_classes": "pipelines.sources",
    "ingest_videos": "pipelines.jobs.ingest",
    "NothingIngested": "pipelines.jobs.ingest",
    "list_videos": "pipelines.sources",
    "input_fingerprint": "pipelines.sources",
    "LayoutError": "pipelines.sources.listing",
    "generate_dataset": "pipelines.jobs.generate",
    "validate_index": "pipelines.release.validate",
    "assess_candidate": "pipelines.release.gate",
    "gate_candidate": "pipelines.release.gate",
    "publish_version": "pipelines.release.publish",
    "candidate_dir": "schemas.layout",
    "checksums": "pipelines.release.publish",
    "write_previews": "pipelines.release.publish",
    "dataset_card": "pipelines.release.card",
    "render_clip": "pipelines.sources.procedural",
}

__all__ = sorted(_SURFACE)


def __getattr__(name: str):
    if name in _SURFACE:
        return getattr(import_module(_SURFACE[name]), name)
    raise AttributeError(f"module 'pipelines' has no attribute {name!r}")
