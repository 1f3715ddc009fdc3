"""Configuration models: the one place where every run parameter is parsed and checked.

The CLI, the Prefect flow parameters and the YAML presets all parse into
:class:`AugmentConfig`, so a bad value gets one pydantic error that names the
field (for example ``train.batch_size``) wherever it came from.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    """Unknown keys are errors: a misspelt option must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


class ClipFormat(_Strict):
    """Shape and rate of every clip, real or synthetic, in one dataset."""

    frames: int = Field(16, ge=8, le=64, description="frames per clip (power of two)")
    size: int = Field(64, ge=32, le=256, description="height and width in pixels (power of two)")
    fps: float = Field(8.0, gt=0, le=120, description="frames per second of the encoded clips")

    @field_validator("frames", "size")
    @classmethod
    def _power_of_two(cls, v: int) -> int:
        # The generator doubles resolution per block, so only powers of two are reachable.
        if not _is_power_of_two(v):
            raise ValueError(f"must be a power of two, got {v}")
        return v


class ProceduralSource(_Strict):
    """The built-in procedural action set: rendered on the fly, no download."""

    kind: Literal["procedural"] = "procedural"
    classes: list[str] | None = Field(None, description="subset of the procedural classes; default all")
    clips_per_class: int = Field(48, ge=4, description="real clips rendered per class")
    test_fraction: float = Field(0.25, gt=0, lt=1, description="share of clips held out as the test split")
    seed: int = Field(0, ge=0, description="seed of the rendering; same seed, same pixels")

    @field_validator("classes")
    @classmethod
    def _known_classes(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        from schemas.classes import PROCEDURAL_CLASSES

        unknown = [c for c in v if c not in PROCEDURAL_CLASSES]
        if unknown:
            raise ValueError(f"unknown procedural classes {unknown}; known: {list(PROCEDURAL_CLASSES)}")
        if len(set(v)) != len(v) or len(v) < 2:
            raise ValueError("need at least two distinct classes")
        return v


Source = Annotated[Union[ProceduralSource], Field(discriminator="kind")]


class ModelConfig(_Strict):
    """Width of the networks; depth follows from the clip format."""

    z_dim: int = Field(128, ge=8, le=1024, description="latent size")
    channels: int = Field(32, ge=8, le=512, description="base channel width of generator and discriminators")


class TrainConfig(_Strict):
    steps: int = Field(1200, ge=1, description="generator updates")
    batch_size: int = Field(32, ge=2, le=1024)
    lr_g: float = Field(2e-4, gt=0, lt=1)
    lr_d: float = Field(2e-4, gt=0, lt=1)
    beta1: float = Field(0.0, ge=0, lt=1)
    beta2: float = Field(0.99, ge=0, lt=1)
    ema_decay: float = Field(0.999, ge=0, lt=1, description="decay of the generator's moving average")
    precision: Literal["fp32", "bf16"] = Field("bf16", description="autocast precision on CPU and CUDA")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    seed: int = Field(0, ge=0)
    checkpoint_every: int = Field(200, ge=1, description="steps between resumable checkpoints")
    model: ModelConfig = Field(default_factory=ModelConfig)


class GenerateConfig(_Strict):
    clips_per_class: int = Field(32, ge=1, description="synthetic clips per class unless counts says otherwise")
    counts: dict[str, int] | None = Field(None, description="per-class counts; classes absent are not generated")
    seed: int = Field(0, ge=0, description="base seed; clip i of class c gets a seed derived from it")
    truncation: float = Field(1.0, gt=0, le=4, description="latent truncation (1.0 = none)")
    batch_size: int = Field(32, ge=1, le=4096)
    shard_size: int = Field(64, ge=1, description="clips per tar shard")
    precision: Literal["fp32", "bf16"] = "bf16"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    crf: int = Field(18, ge=0, le=51, description="x264 constant rate factor")

    @field_validator("counts")
    @classmethod
    def _positive_counts(cls, v: dict[str, int] | None) -> dict[str, int] | None:
        if v is not None:
            bad = {k: n for k, n in v.items() if n < 1}
            if bad or not v:
                raise ValueError(f"counts must be a non-empty mapping of class to a positive count, got {v}")
        return v


class BeamConfig(_Strict):
    """Where the per-clip pipelines run; the same options serve ingest and generation."""

    runner: Literal["direct", "dask"] = Field("direct", description="Beam runner: direct (FnApiRunner) or dask")
    direct_num_workers: int = Field(1, ge=1, le=256, description="DirectRunner parallelism (multi_processing when > 1)")
    dask_address: str | None = Field(None, description="Dask scheduler address; None starts a local cluster")
    dask_workers: int = Field(2, ge=1, le=256, description="workers of the local Dask cluster when no address is given")


class PublishConfig(_Strict):
    license: str = Field("CC-BY-4.0", description="license of the published clips")
    description: str = Field("", description="free text for the dataset card")
    previews_per_class: int = Field(8, ge=1, le=64, description="clips per class in the contact sheet")


class AugmentConfig(_Strict):
    """Everything one run of the augment flow needs."""

    name: str = Field("augment-demo", pattern=r"^[a-z0-9][a-z0-9_-]*$", description="deployment name")
    dataset: str = Field("procedural-actions", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="dataset folder")
    output_root: str = Field("out", description="root folder or URI of published datasets and caches")
    clip: ClipFormat = Field(default_factory=ClipFormat)
    source: Source = Field(default_factory=ProceduralSource)
    train: TrainConfig = Field(default_factory=TrainConfig)
    generate: GenerateConfig = Field(default_factory=GenerateConfig)
    beam: BeamConfig = Field(default_factory=BeamConfig)
    publish: PublishConfig = Field(default_factory=PublishConfig)

    @model_validator(mode="after")
    def _generate_counts_name_trained_classes(self) -> "AugmentConfig":
        if self.generate.counts is not None and isinstance(self.source, ProceduralSource):
            from schemas.classes import PROCEDURAL_CLASSES

            known = self.source.classes or list(PROCEDURAL_CLASSES)
            unknown = [c for c in self.generate.counts if c not in known]
            if unknown:
                raise ValueError(f"generate.counts names classes the source does not have: {unknown}")
        return self


def fingerprint(*parts: BaseModel | dict | str) -> str:
    """A short stable hash of configuration parts, used to key caches on disk and in Prefect."""
    h = hashlib.sha256()
    for part in parts:
        data = part.model_dump(mode="json") if isinstance(part, BaseModel) else part
        h.update(json.dumps(data, sort_keys=True).encode())
    return h.hexdigest()[:16]
