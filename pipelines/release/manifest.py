"""The manifest of a version and its provenance, built from the run's configuration and what it produced.

Plain functions, so the flow only passes values along and a test can build a
manifest without Prefect.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from pipelines.dataset.shards import sha256_file
from pipelines.release.validate import ValidationReport
from schemas.config import AugmentConfig, ClipFormat
from schemas.layout import INDEX
from schemas.manifest import FileEntry, Manifest, Provenance, ValidationSummary, ValueSummary

CODEC = "h264"


def code_version() -> str:
    """Package version plus the git commit when running from a checkout."""
    try:
        base = version("vgan-augment")
    except PackageNotFoundError:
        base = "unknown"
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{base}+g{sha}" if sha else base


def clip_format(clip: ClipFormat) -> dict:
    """The manifest's ``clip_format``: what every clip of the version is (square frames, H.264)."""
    return {"frames": clip.frames, "height": clip.size, "width": clip.size, "fps": clip.fps, "codec": CODEC}


def build_manifest(
    version_name: str,
    *,
    config: AugmentConfig,
    class_names: list[str] | tuple[str, ...],
    counts: dict[str, int],
    files: tuple[FileEntry, list[FileEntry]],
    checkpoint_sha256: str,
    real_dir: str | Path,
    report: ValidationReport,
    candidate: Path,
    flow_run_id: str | None,
    value: ValueSummary | None = None,
) -> Manifest:
    """The manifest of ``version_name``: contents (``counts`` per class, ``files`` = index and shard checksums),
    provenance and the gate's outcome; ``candidate`` is the folder the Data Docs path is made relative to."""
    index_entry, shard_entries = files
    return Manifest(
        dataset=config.dataset,
        version=version_name,
        clips=sum(counts.values()),
        class_names=list(class_names),
        counts={name: counts[name] for name in class_names if name in counts},
        clip_format=clip_format(config.clip),
        index=index_entry,
        shards=shard_entries,
        provenance=Provenance(
            checkpoint_sha256=checkpoint_sha256,
            real_index_sha256=sha256_file(Path(real_dir) / INDEX),
            config=config.model_dump(mode="json"),
            code_version=code_version(),
            flow_run_id=flow_run_id,
            created_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        ),
        validation=ValidationSummary(
            success=report.success,
            evaluated=report.statistics.get("evaluated_expectations", 0),
            failed=report.failed,
            data_docs=_relative(report.data_docs_index, candidate),
        ),
        quality=report.quality,
        value=value,
    )


def _relative(path, root: Path) -> str | None:
    return None if path is None else Path(path).resolve().relative_to(root.resolve()).as_posix()
