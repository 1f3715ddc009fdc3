"""Schemas shared by every layer: the clip index, configuration, manifest and quality suites.

Imports none of torch, apache_beam or prefect, so any layer may import it.
"""

from schemas.classes import PROCEDURAL_CLASSES
from schemas.config import AugmentConfig, ClipFormat, GenerateConfig, TrainConfig, fingerprint
from schemas.index import INDEX_SCHEMA, SCHEMA_VERSION, index_table

__all__ = [
    "AugmentConfig",
    "ClipFormat",
    "GenerateConfig",
    "INDEX_SCHEMA",
    "PROCEDURAL_CLASSES",
    "SCHEMA_VERSION",
    "TrainConfig",
    "fingerprint",
    "index_table",
]
