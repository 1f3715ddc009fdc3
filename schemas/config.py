"""Configuration models: the one place where every run parameter is parsed and checked.

The CLI, the Prefect flow parameters and the YAML presets all parse into
:class:`AugmentConfig`, so a bad value gets one pydantic error that names the
field (for example ``train.batch_size``) wherever it came from.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Annotated, Any, ClassVar, Literal, Union, get_args

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, field_validator, model_serializer, model_validator


class _Strict(BaseModel):
    """Unknown keys are errors: a misspelt option must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class _Extensible(_Strict):
    """A model whose later-added fields leave its dump unchanged while they keep their defaults.

    Checkpoints, cache keys and manifests hold ``model_dump(mode="json")`` of
    the training configuration. Fields listed in ``_ADDED_LATER`` are left out
    of that dump while they equal their default, so a configuration that does
    not use them dumps, hashes and checkpoints exactly as it did before they
    existed (published versions stay byte-identical), and an old dump still
    validates to the same configuration. A field that is set shows up.
    """

    _ADDED_LATER: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _omit_unused_additions(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        for name in self._ADDED_LATER:
            if name in data and getattr(self, name) == type(self).model_fields[name].default:
                del data[name]
        return data


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

    kind: Literal["procedural"] = Field("procedural", description="where the real clips come from")
    classes: list[str] | None = Field(None, description="subset of the classes, in label order; default all")
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


class VideoSampling(_Strict):
    """How clips are cut out of one real video: where in time, how many, and how frames fit the square.

    Shared by every video source so that one set of options means the same
    thing for UCF-101, HMDB-51, Kinetics and plain class folders.
    """

    clips_per_video: int = Field(1, ge=1, le=64, description="clips taken from each video")
    mode: Literal["uniform", "random"] = Field(
        "uniform", description="clip starts: evenly spread over the video, or drawn at random from the seed"
    )
    stride: int = Field(1, ge=1, le=16, description="take every stride-th frame (after resampling to clip.fps)")
    seed: int = Field(0, ge=0, description="seed of random clip starts; same seed, same clips")
    short_video: Literal["skip", "loop"] = Field(
        "skip", description="a video shorter than one clip: quarantine it, or loop it until it is long enough"
    )
    fit: Literal["crop", "pad"] = Field(
        "crop", description="fit frames to the square: scale the short side and centre-crop, or scale the long side and pad"
    )


def _distinct_classes(v: list[str] | None) -> list[str] | None:
    # Names of real datasets are only known once the root is listed, so only their shape is checked here.
    if v is not None and (len(set(v)) != len(v) or len(v) < 2):
        raise ValueError(f"need at least two distinct classes, got {v}")
    return v


class _VideoSource(_Strict):
    """Fields every source of real video files has. Paths are checked when the source is listed, not here,
    because deployment parameters are parsed on machines that do not hold the data."""

    root: str = Field(description="folder holding the dataset's videos")
    classes: list[str] | None = Field(None, description="subset of the classes, in label order; default all")
    sampling: VideoSampling = Field(default_factory=VideoSampling)

    @field_validator("classes")
    @classmethod
    def _distinct(cls, v: list[str] | None) -> list[str] | None:
        return _distinct_classes(v)


class _OfficialSplitsSource(_VideoSource):
    """A benchmark released with three official train/test splits in files of its own."""

    split: int = Field(1, ge=1, le=3, description="official train/test split number (1, 2 or 3)")
    splits_dir: str | None = Field(None, description="folder of the official split lists; default: looked for in and beside root")


class UCF101Source(_OfficialSplitsSource):
    """UCF-101 exactly as released: ``<root>/<Class>/v_<Class>_gNN_cNN.avi`` plus ``ucfTrainTestlist/``."""

    kind: Literal["ucf101"] = "ucf101"


class HMDB51Source(_OfficialSplitsSource):
    """HMDB-51: ``<root>/<class>/*.avi`` plus the per-class ``<class>_test_split<k>.txt`` files."""

    kind: Literal["hmdb51"] = "hmdb51"


class KineticsSource(_VideoSource):
    """Kinetics-style: a CSV ``label,youtube_id,time_start,time_end,split`` and videos named by id (and time range)."""

    kind: Literal["kinetics"] = "kinetics"
    csv: str = Field(description="annotation CSV: label,youtube_id,time_start,time_end,split")


class FolderSource(_VideoSource):
    """Any ``<root>/<class>/*.{mp4,avi,mkv,mov,webm}`` tree, split into train and test from a seed."""

    kind: Literal["folder"] = "folder"
    test_fraction: float = Field(0.25, gt=0, lt=1, description="share of each class's videos held out as the test split")
    split_seed: int = Field(0, ge=0, description="seed of the train/test split of class folders")


Source = Annotated[
    Union[ProceduralSource, UCF101Source, HMDB51Source, KineticsSource, FolderSource], Field(discriminator="kind")
]


# Generator families (generators/architectures.py): "vgan" is the two-stream 3D generator of
# Vondrick et al. 2016; "cmgan" splits the latent into content and a motion trajectory and
# draws every frame with one style-modulated 2D generator (MoCoGAN / StyleGAN-V).
Architecture = Literal["vgan", "cmgan"]


class ModelConfig(_Extensible):
    """Generator family and width of the networks; depth follows from the clip format."""

    _ADDED_LATER = frozenset({"architecture"})

    architecture: Architecture = Field(
        "vgan", description="generator family: vgan (two-stream 3D) or cmgan (content + motion, modulated 2D frames)"
    )
    z_dim: int = Field(128, ge=8, le=1024, description="latent size")
    channels: int = Field(32, ge=8, le=512, description="base channel width of generator and discriminators")


# "auto" is bf16 where the device computes it natively (CUDA, CPUs with AVX-512 BF16 or AMX), else fp32
# (generators/device.py): on an AVX2-only CPU emulated bf16 made a training step 10-50x slower than fp32.
Precision = Literal["auto", "fp32", "bf16"]

# DiffAugment's transformations, in the order they are applied (generators/diffaugment.py).
Augmentation = Literal["color", "translation", "cutout"]


class TrainConfig(_Extensible):
    _ADDED_LATER = frozenset(
        {"r1_gamma", "r1_every", "critic_frame_diffs", "mask_l1", "mask_binary", "scene_critic", "matte_critic"}
    )

    steps: int = Field(1200, ge=1, description="generator updates")
    batch_size: int = Field(32, ge=2, le=1024)
    lr_g: float = Field(2e-4, gt=0, lt=1)
    lr_d: float = Field(2e-4, gt=0, lt=1)
    beta1: float = Field(0.0, ge=0, lt=1)
    beta2: float = Field(0.99, ge=0, lt=1)
    ema_decay: float = Field(0.999, ge=0, lt=1, description="decay of the generator's moving average")
    precision: Precision = Field(
        "auto", description="autocast precision; auto = bf16 where the device computes it natively, else fp32"
    )
    device: Literal["auto", "cpu", "cuda"] = "auto"
    seed: int = Field(0, ge=0)
    checkpoint_every: int = Field(200, ge=1, description="steps between resumable checkpoints")
    augment: list[Augmentation] = Field(
        list(get_args(Augmentation)),
        description="differentiable augmentations of every clip the critics see (generators/diffaugment.py); [] for none",
    )
    mode_seeking: float = Field(
        1.0, ge=0, description="weight of the mode-seeking term that keeps clips of one class apart (0 = off)"
    )
    r1_gamma: float = Field(
        0.0, ge=0, description="weight of the R1 gradient penalty on real clips, both critics (0 = off)"
    )
    r1_every: int = Field(16, ge=1, description="critic steps between R1 penalties (lazy regularisation)")
    critic_frame_diffs: bool = Field(
        False, description="the video critic also sees frame-to-frame differences of the clip"
    )
    mask_l1: float = Field(
        0.5, ge=0, description="weight of the two-stream generator's mask sparsity penalty (mean mask; VGAN's L1 term)"
    )
    mask_binary: float = Field(
        0.0, ge=0, description="weight of a penalty on mask values between 0 and 1 (mean of min(m, 1 - m); 0 = off)"
    )
    scene_critic: float = Field(
        0.0,
        ge=0,
        description="weight of a critic that tells the generator's background from empty scenes of the real set, "
        "so what the actor is (moving or not) has to come from the foreground and its mask (0 = off)",
    )
    matte_critic: float = Field(
        0.0,
        ge=0,
        description="weight of a critic that tells the generator's actor, cut out by its mask, from the real actors "
        "cut out by their mattes, so the mask is a whole, sharp person; needs a source that renders mattes, the "
        "procedural set (0 = off)",
    )
    model: ModelConfig = Field(default_factory=ModelConfig)


# x264's presets, fastest first. The default "veryfast" was measured on 64x64x16 clips at
# crf 18 (bench/encode_throughput.py): 2.9x less CPU than "medium" for 0.3 dB less PSNR
# on rendered clips (0.04 dB on generator output) and 7-10% fewer bytes. Encoding, not
# the generator, bounds generation on CPU (docs/performance.md).
X264Preset = Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"]
DEFAULT_PRESET = "veryfast"


class GenerateConfig(_Strict):
    clips_per_class: int = Field(32, ge=1, description="synthetic clips per class unless counts says otherwise")
    counts: dict[str, int] | None = Field(None, description="per-class counts; classes absent are not generated")
    seed: int = Field(0, ge=0, description="base seed; clip i of class c gets a seed derived from it")
    truncation: float = Field(1.0, gt=0, le=4, description="latent truncation (1.0 = none)")
    batch_size: int = Field(32, ge=1, le=4096)
    shard_size: int = Field(64, ge=1, description="clips per tar shard")
    precision: Precision = Field("auto", description="autocast precision of generation (auto as in train.precision)")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    crf: int = Field(18, ge=0, le=51, description="x264 constant rate factor")
    preset: X264Preset = Field(
        DEFAULT_PRESET, description="x264 preset: CPU time against file size at the same crf (bench/encode_throughput.py)"
    )

    @field_validator("counts")
    @classmethod
    def _positive_counts(cls, v: dict[str, int] | None) -> dict[str, int] | None:
        if v is not None:
            bad = {k: n for k, n in v.items() if n < 1}
            if bad or not v:
                raise ValueError(f"counts must be a non-empty mapping of class to a positive count, got {v}")
        return v

    def planned_counts(self, class_names: list[str] | tuple[str, ...]) -> dict[str, int]:
        """Clips per class: ``counts`` when given, else ``clips_per_class`` of every trained class."""
        return dict(self.counts) if self.counts else {name: self.clips_per_class for name in class_names}


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


class JudgeConfig(_Strict):
    """Training of the judge: the small R(2+1)D action classifier that the quality gate measures with."""

    channels: int = Field(16, ge=4, le=256, description="judge width: channels of its first block (features are 4x this)")
    input: Literal["both", "raw", "residual"] = Field(
        "both",
        description="what the judge sees: the frames (appearance, scene), their residual from the clip's temporal "
        "mean (motion), or both stacked as 6 input channels",
    )
    steps: int = Field(300, ge=1, le=100_000, description="most optimizer steps (the budget; early stopping may end sooner)")
    eval_every: int = Field(20, ge=1, description="optimizer steps between two checks on the validation clips")
    patience: int = Field(
        5, ge=1, description="checks without a better validation accuracy before training stops (best weights kept)"
    )
    validation_share: float = Field(
        0.2, ge=0, lt=1,
        description="share of each class's real TRAINING clips held out for early stopping (the test split is never used)",
    )  # fmt: skip
    batch_size: int = Field(32, ge=2, le=1024, description="judge training batch size")
    lr: float = Field(3e-3, gt=0, lt=1, description="peak learning rate of the judge (AdamW, one-cycle schedule)")
    weight_decay: float = Field(0.05, ge=0, lt=1, description="AdamW weight decay of the judge")
    precision: Precision = Field("auto", description="autocast precision of judge training and inference (auto as in train.precision)")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="device of judge training and inference")
    seed: int = Field(0, ge=0, description="seed of the judge's initialisation and batch order")


# Below this many real test clips in a class, a per-class figure measured against them is noise (one clip
# more or less moves a share by 20 % or more); the gate says so instead of deciding on it.
MEANINGFUL_TEST_CLIPS = 5


class QualityConfig(_Strict):
    """Thresholds of the quality gate; a candidate that misses any of them is not published.

    Ratios compare a synthetic figure with the same figure on the real held-out
    (test) clips, which play the part of a perfect generator.
    """

    judge: JudgeConfig = Field(default_factory=JudgeConfig)
    min_judge_accuracy: float = Field(
        0.8, ge=0, le=1, description="least held-out accuracy of the judge on real test clips for it to judge at all"
    )
    max_fd_ratio: float = Field(
        15.0, gt=0,
        description="most Frechet distance (judge features) to the real training clips, "
        "as a multiple of the real test clips' own",
    )  # fmt: skip
    min_label_fidelity: float = Field(
        0.5, ge=0, le=1, description="least judge accuracy on the synthetic clips against their intended labels"
    )
    min_class_fidelity: float = Field(
        0.25, ge=0, le=1, description="least judge accuracy on the synthetic clips of any one class"
    )
    min_diversity_ratio: float = Field(
        0.4, ge=0,
        description="least within-class mean pairwise feature distance of the synthetic clips, "
        "as a share of the real test clips' own, in every class",
    )  # fmt: skip
    duplicate_distance: float = Field(
        0.02, ge=0, le=1, description="pixel RMS distance (0..1) below which two synthetic clips are near duplicates"
    )
    max_duplicate_fraction: float = Field(
        0.05, ge=0, le=1, description="most share of synthetic clips that have a near duplicate"
    )
    frozen_motion: float = Field(
        1e-4, ge=0, le=1, description="per-clip motion (moving-pixel ratio) below which a clip counts as frozen"
    )
    max_frozen_fraction: float = Field(
        0.35, ge=0, le=1, description="most share of frozen synthetic clips, overall and in every class"
    )
    min_motion_ratio: float = Field(
        0.1, ge=0,
        description="least mean motion of the synthetic clips, as a share of the real test clips' own, "
        "overall and in every class",
    )  # fmt: skip
    shares_over_real: bool = Field(
        False,
        description="read max_frozen_fraction, max_duplicate_fraction and max_exposure_outlier_fraction as the most "
        "share ABOVE the real test clips' "
        "own (per class for frozen clips): in real footage still scenes and clips of one recording are frozen or "
        "near-duplicate by nature, so the absolute share is a property of the data (docs/quality-gate.md)",
    )  # fmt: skip
    min_test_clips_per_class: int = Field(
        MEANINGFUL_TEST_CLIPS, ge=0,
        description="fewest real test clips of a class for a figure compared against them to mean anything; "
        "below it such figures are reported as not measurable and fail by name",
    )  # fmt: skip
    max_exposure_outlier_fraction: float | None = Field(
        None, ge=0, le=1,
        description="most share of synthetic clips whose mean brightness lies outside the real training clips' range "
        "(darker than the darkest or brighter than the brightest); None: reported, not gated. The demo's generator "
        "learns DiffAugment's brightness shifts and those clips gain a recognizer more (docs/quality-gate.md)",
    )  # fmt: skip
    max_flicker_ratio: float = Field(
        3.0, gt=0, description="most mean temporal flicker of the synthetic clips, as a multiple of the real test clips'"
    )
    memorisation_distance: float = Field(
        0.03, ge=0, le=1,
        description="pixel RMS distance (0..1) to the nearest training clip below which a synthetic clip is memorised",
    )  # fmt: skip
    max_memorised_fraction: float = Field(0.01, ge=0, le=1, description="most share of memorised synthetic clips")
    i3d_path: str | None = Field(
        None, description="local I3D file (TorchScript or state dict) for a true FVD figure; nothing is downloaded"
    )
    i3d_size: int = Field(
        224, ge=32, le=512, description="frame size the clips are resized to for the I3D (224 is the FVD standard)"
    )
    max_fvd: float | None = Field(
        None, gt=0, description="most I3D FVD to the real training clips; None reports it without a threshold"
    )


class ValueConfig(_Strict):
    """The value step: does a recognizer trained with the candidate's clips beat one trained on the real clips alone?

    Both arms train the same recognizer (``evaluation.recognizer``) for the same
    steps from the same seeds on the real training split, one of them with the
    candidate mixed in by the shipped ``pipelines.MixRecipe``; both are tested
    on the real test split. ``min_gain`` is the least mean gain over seeds, in
    accuracy points; its default, -1, is the seed spread measured with the
    shipped recipe where real clips suffice (std 0.5-1.1 points at 25 and 48
    clips per class, docs/augmentation-gain.md): a mean loss within it is
    noise of 3 seeds, a larger one means the clips hurt. The recognizer sees
    its clips as the judge does (``quality.judge.input``): what the footage
    needs is said once.
    """

    enabled: bool = Field(True, description="run the value step after the quality gate")
    seeds: list[int] = Field([0, 1, 2], min_length=1, description="recognizer seeds; each trains both arms")
    steps: int = Field(300, ge=1, description="recognizer updates per arm and seed")
    channels: int = Field(16, ge=4, le=256, description="recognizer width (evaluation.judge.JudgeNet channels)")
    batch_size: int = Field(32, ge=2, le=1024, description="recognizer batch size")
    min_gain: float = Field(-1.0, ge=-100, le=100, description="least mean gain over seeds (accuracy points) to publish")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="device of the recognizers")


class SurveillanceConfig(_Strict):
    """Generated actors composited into static camera scenes, with per-actor tracks (docs/surveillance.md)."""

    scenes: str | None = Field(None, description="folder of camera scenes (one image or video each); None = built-in rooms")
    procedural_scenes: int = Field(8, ge=1, le=4096, description="built-in rooms to use when no folder is given")
    scene_seed: int = Field(0, ge=0, description="seed of the built-in rooms")
    min_actors: int = Field(1, ge=1, le=16, description="fewest actors per clip")
    max_actors: int = Field(3, ge=1, le=16, description="most actors per clip")
    horizon: float = Field(0.3, ge=0, lt=1, description="row (share of the height) where people vanish, for user scenes")
    height_at_bottom: float = Field(
        0.5, gt=0, le=2, description="a person's height, as a share of the frame height, with feet on the bottom row")
    farthest_feet: float = Field(
        0.4, gt=0, le=1, description="highest feet row actors stand at, as a share of the way from horizon to bottom")
    nearest_feet: float = Field(1.0, gt=0, le=1.5, description="lowest feet row (share of the height); >1 cuts feet off")
    min_box_coverage: float = Field(
        0.9, ge=0, le=1, description="least mean share of the pixels actors change that lie inside their boxes")

    @model_validator(mode="after")
    def _actor_range(self) -> "SurveillanceConfig":
        if self.min_actors > self.max_actors:
            raise ValueError(f"min_actors {self.min_actors} exceeds max_actors {self.max_actors}")
        return self


class AugmentConfig(_Strict):
    """Everything one run of the augment flow needs."""

    name: str = Field("augment-demo", pattern=r"^[a-z0-9][a-z0-9_-]*$", description="deployment name")
    dataset: str = Field("procedural-actions", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="dataset folder")
    output_root: str = Field("out", description="local folder (or shared POSIX mount) of published datasets and caches")
    clip: ClipFormat = Field(default_factory=ClipFormat)
    source: Source = Field(default_factory=ProceduralSource)
    train: TrainConfig = Field(default_factory=TrainConfig)
    generate: GenerateConfig = Field(default_factory=GenerateConfig)
    beam: BeamConfig = Field(default_factory=BeamConfig)
    publish: PublishConfig = Field(default_factory=PublishConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    value: ValueConfig = Field(default_factory=ValueConfig)
    surveillance: SurveillanceConfig | None = Field(
        None, description="composite generated actors into camera scenes with per-actor tracks; None = plain clips")

    @field_validator("output_root")
    @classmethod
    def _expand_home(cls, value: str) -> str:
        """``~/data`` means the user's home, as in a shell; a URI is left alone."""
        return value if "://" in value else os.path.expanduser(value)

    @model_validator(mode="after")
    def _generate_counts_name_trained_classes(self) -> AugmentConfig:
        if self.generate.counts is None:
            return self
        known = self.source.classes
        if known is None and isinstance(self.source, ProceduralSource):
            from schemas.classes import PROCEDURAL_CLASSES

            known = list(PROCEDURAL_CLASSES)
        # A real source without a subset knows its classes only once listed; the ingest checks those.
        if known is not None:
            unknown = [c for c in self.generate.counts if c not in known]
            if unknown:
                raise ValueError(f"generate.counts names classes the source does not have: {unknown}")
        return self


    @model_validator(mode="after")
    def _matte_critic_needs_rendered_mattes(self) -> AugmentConfig:
        """Refused before any clip is ingested: only the procedural renderer knows its actors' mattes."""
        if self.train.matte_critic > 0 and not isinstance(self.source, ProceduralSource):
            raise ValueError(
                f"train.matte_critic needs the actors' mattes of the real clips, which only the procedural source "
                f"renders; a {self.source.kind!r} source has none: set train.matte_critic to 0"
            )
        return self


def fingerprint(*parts: BaseModel | dict | str) -> str:
    """A short stable hash of configuration parts, used to key caches on disk and in Prefect."""
    h = hashlib.sha256()
    for part in parts:
        data = part.model_dump(mode="json") if isinstance(part, BaseModel) else part
        h.update(json.dumps(data, sort_keys=True).encode())
    return h.hexdigest()[:16]
