"""The Beam jobs: every job is a plan of shards, a producer of clips and the one shard pipeline.

``plan`` (which clips go to which shard), ``shard_job`` (encode, write a shard and its index part,
resume), ``runner`` (the Beam pipeline on Direct/Dask runners and the index merge), ``progress``;
the jobs themselves: ``prepare`` (procedural set), ``ingest`` (real videos), ``generate``
(synthetic clips from a checkpoint).
"""
