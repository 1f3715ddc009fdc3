"""A run's candidate, checked and published: the two release steps the augment flow calls.

:func:`check_candidate` runs the quality gate and writes previews (also for a
candidate that fails, so its report can be looked at beside its clips);
:func:`publish_candidate` writes the manifest and card and moves the candidate
into place. Both take the run's configuration and return plain values.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipelines.dataset.index_io import per_class_means, read_index
from pipelines.release.card import dataset_card
from pipelines.release.export import write_exports
from pipelines.release.gate import gate_candidate
from pipelines.release.manifest import build_manifest
from pipelines.release.publish import (
    checksums,
    finish_or_find_published,
    publish_version,
    write_previews,
)
from pipelines.release.validate import ValidationReport
from schemas.config import AugmentConfig
from schemas.expectations import IndexExpectations
from schemas.layout import CARD, INDEX
from schemas.manifest import ValueSummary


@dataclass
class CheckedCandidate:
    report: ValidationReport
    previews: list[Path]


@dataclass
class PublishedVersion:
    path: Path
    per_class: list[dict]
    """One row per class: clips, mean motion and flicker (raw pixels, as the index stores them)."""
    card: str


def check_candidate(
    candidate: str | Path, real_dir: str | Path, judge: str | Path, config: AugmentConfig, class_names: list[str]
) -> CheckedCandidate:
    """The quality gate over ``candidate`` (Data Docs into its ``validation/``), then its previews."""
    candidate = Path(candidate)
    spec = IndexExpectations.synthetic(config, class_names)
    coverage = config.surveillance.min_box_coverage if config.surveillance else None
    report = gate_candidate(candidate, real_dir, judge, spec, config.quality, min_box_coverage=coverage)
    previews = write_previews(candidate, class_names, config.publish.previews_per_class, config.clip.fps, Path(real_dir),
                              boxes=config.surveillance is not None)
    return CheckedCandidate(report, previews)


def publish_candidate(
    candidate: str | Path,
    config: AugmentConfig,
    class_names: list[str],
    checkpoint_sha256: str,
    real_dir: str | Path,
    report: ValidationReport,
    flow_run_id: str | None = None,
    value: ValueSummary | None = None,
) -> PublishedVersion:
    """Manifest and card into the candidate (its previews are there since the gate), then the atomic move."""
    candidate = Path(candidate)
    if config.surveillance is not None:
        write_exports(candidate, class_names)  # MOTChallenge and COCO-video labels, published with the version
    files = checksums(candidate)
    stats = per_class_means(read_index(candidate / INDEX))
    counts = {name: s["clips"] for name, s in stats.items()}

    def make_manifest(version_name: str):
        return build_manifest(
            version_name, config=config, class_names=class_names, counts=counts, files=files,
            checkpoint_sha256=checkpoint_sha256, real_dir=real_dir, report=report, candidate=candidate,
            flow_run_id=flow_run_id, value=value,
        )  # fmt: skip

    def card(manifest) -> str:
        return dataset_card(manifest, stats, config.publish.license, config.publish.description)

    final = publish_version(candidate, Path(config.output_root) / config.dataset, make_manifest, card)
    rows = [{"class": n, "clips": stats[n]["clips"], "motion": round(stats[n]["motion"], 4),
             "flicker": round(stats[n]["flicker"], 4)} for n in class_names if n in stats]  # fmt: skip
    return PublishedVersion(final, rows, (final / CARD).read_text())


def published_by_identical_run(config: AugmentConfig, checkpoint_sha256: str, published_before: list[str]) -> Path | None:
    """The version a run of this configuration and checkpoint published since ``published_before``, or left
    without ``latest`` when it was killed (``latest`` is moved to it now); None when there is none.

    Such a run's clips are byte-identical to what this run would generate, so
    taking its version is finishing this run's work, not skipping it.
    """
    wanted = config.model_dump(mode="json")

    def same_run(manifest) -> bool:
        return manifest.provenance.checkpoint_sha256 == checkpoint_sha256 and manifest.provenance.config == wanted

    return finish_or_find_published(Path(config.output_root) / config.dataset, same_run, published_before)
