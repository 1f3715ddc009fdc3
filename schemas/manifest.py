"""The manifest of a published dataset version: what is in it, how it was made, and that it passed."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.index import SCHEMA_VERSION


class FileEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="path relative to the version folder")
    sha256: str
    bytes: int


class Provenance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    checkpoint_sha256: str
    real_index_sha256: str = Field(description="sha256 of the real clip index the generator was trained on")
    config: dict = Field(description="the full AugmentConfig of the run")
    code_version: str
    flow_run_id: str | None = None
    created_at: str = Field(description="UTC time, ISO 8601")


class ValidationSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    success: bool
    evaluated: int
    failed: list[str]
    data_docs: str | None = Field(None, description="relative path of the Data Docs index page")


class QualityFigure(BaseModel):
    """One dataset-level quality figure of the gate, with what it was measured on and what it had to reach."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="column of the quality suite, e.g. label_fidelity or label_fidelity__run")
    value: float | None = Field(description="the figure; None where it could not be measured")
    reference: float | None = Field(
        None, description="the same figure for the real test clips (what a perfect generator would score)"
    )
    bound: Literal["min", "max"] | None = Field(None, description="whether the threshold is a least or a most value")
    threshold: float | None = Field(None, description="the configured threshold; None for a figure reported only")
    passed: bool | None = Field(None, description="None for a figure reported only")
    samples: dict[str, int] = Field(description="clips behind the figure per set, e.g. synthetic, real_train, real_test")
    description: str = Field(description="what the figure measures")


class FeatureNetwork(BaseModel):
    """The network whose features a distance was measured in; FVD-like figures are comparable only with the same one."""

    model_config = ConfigDict(extra="forbid")

    name: str
    sha256: str = Field(description="sha256 of the weights file")
    resize: str = Field(description="preprocessing of the clips before the network")
    frames: int
    accuracy: float | None = Field(None, description="held-out accuracy on the real test clips (the judge)")


class QualitySummary(BaseModel):
    """Dataset-level figures of the quality gate (per-clip figures are columns of the index)."""

    model_config = ConfigDict(extra="forbid")

    passed: bool
    judge: FeatureNetwork = Field(description="the project's own judge, in whose features the Frechet distance is measured")
    i3d: FeatureNetwork | None = Field(None, description="the I3D of the true FVD figure, when one was named")
    figures: list[QualityFigure]


class ValueSummary(BaseModel):
    """What the candidate's clips are worth to a recognizer: the value step's two arms, per seed, on real test clips."""

    model_config = ConfigDict(extra="forbid")

    passed: bool
    gain_points: float = Field(description="mean over seeds of (with synthetic - real only) top-1, in points")
    gain_std: float = Field(description="sample standard deviation of the per-seed gains (0 for one seed)")
    gains: list[float] = Field(description="per-seed gains, points")
    real_only: list[float] = Field(description="per-seed top-1 on the real test split, real training split alone")
    with_synthetic: list[float] = Field(description="per-seed top-1 on the real test split, real + synthetic")
    seeds: list[int]
    min_gain: float = Field(description="the configured least mean gain (value.min_gain)")
    recipe: str = Field(description="the mixing recipe of the synthetic arm (pipelines.MixRecipe)")
    synthetic_fraction: float
    real_clips_per_class: float
    test_clips: int
    recognizer: str
    seconds: float = Field(description="wall time of the step")


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: str = SCHEMA_VERSION
    dataset: str
    version: str
    clips: int
    class_names: list[str] = Field(description="label i is class_names[i]")
    counts: dict[str, int] = Field(description="clips per class name")
    clip_format: dict = Field(description="frames, height, width, fps, codec")
    index: FileEntry
    shards: list[FileEntry]
    provenance: Provenance
    validation: ValidationSummary
    quality: QualitySummary | None = Field(
        None, description="dataset-level figures of the quality gate (the augment flow always writes them)"
    )
    value: ValueSummary | None = Field(None, description="the value step's figures; None where the step is off")
