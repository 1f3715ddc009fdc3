"""Real video sources by kind: their listing and the fingerprint of their files that keys the ingest cache.

Each layout lives in its own module (``ucf101``, ``hmdb51``, ``kinetics``,
``class_folders``) with the same two functions: ``list_videos(source)`` and
``inputs(source)`` (the files and folders the listing reads).
"""

from __future__ import annotations

import hashlib
import json
from types import ModuleType

from pipelines.sources import class_folders, hmdb51, kinetics, ucf101
from pipelines.sources.listing import Listing, files_fingerprint
from schemas.classes import PROCEDURAL_CLASSES

_LAYOUTS: dict[str, ModuleType] = {"ucf101": ucf101, "hmdb51": hmdb51, "kinetics": kinetics, "folder": class_folders}


def _layout(source) -> ModuleType:
    try:
        return _LAYOUTS[source.kind]
    except KeyError:
        raise ValueError(f"source kind {source.kind!r} is not a video dataset; video kinds: {sorted(_LAYOUTS)}") from None


def list_videos(source) -> Listing:
    """Videos, labels and splits of a real source; raises :class:`~pipelines.sources.listing.LayoutError` for a wrong root."""
    return _layout(source).list_videos(source)


def input_fingerprint(source) -> str:
    """A short hash of the names, sizes and modification times of the source's files (none is read).

    Keys the ingest cache beside the configuration, so that a dataset whose
    files changed is ingested again while an unchanged one is not decoded twice.
    """
    entries = files_fingerprint(_layout(source).inputs(source))
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()[:16]


def source_classes(source) -> list[str]:
    """The class names of a source, in label order; a real source is listed (no video is opened)."""
    if source.kind == "procedural":
        return list(source.classes or PROCEDURAL_CLASSES)
    return list_videos(source).class_names
