"""The augment flow: prepare -> train -> generate -> validate -> publish, as Prefect tasks.

Tasks are thin: each calls one function of ``pipelines`` or ``generators`` and
adds what Prefect is for: retries, caching of the expensive steps, artifacts.
Expensive steps are cached twice over: by Prefect (a cache key made of the
configuration fingerprint, with persisted results) and on disk (every pipeline
resumes from its finished shards and the trainer from its checkpoint), so a
re-run with the same inputs neither decodes, renders nor trains again.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_image_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE
from prefect.runtime import flow_run

from schemas.config import AugmentConfig, fingerprint
from schemas.manifest import Manifest, Provenance, ValidationSummary


class ValidationFailed(RuntimeError):
    """The candidate failed its quality gate; it is kept, with its report, and nothing is published."""


def _dataset_dir(config: AugmentConfig) -> Path:
    return Path(config.output_root) / config.dataset


def _cache_key(step: str):
    def key(_ctx, params) -> str:
        config: AugmentConfig = params["config"]
        extra = [str(v) for k, v in sorted(params.items()) if k != "config"]
        return f"{step}-{fingerprint(_step_inputs(step, config), *extra)}-{config.output_root}"

    return key


def _step_inputs(step: str, config: AugmentConfig) -> dict:
    """The parts of the configuration that a step's output depends on, and nothing else."""
    parts = {"source": config.source, "clip": config.clip}
    if step in ("train", "generate"):
        parts["train"] = config.train
    if step == "generate":
        parts["generate"] = config.generate
    if step == "judge":
        parts["judge"] = config.quality.judge
    return {k: v.model_dump(mode="json") for k, v in parts.items()}


def _prepare_key(ctx, params) -> str:
    """The prepare step's cache key; for real videos it also covers their files (names, sizes, times)."""
    from pipelines import input_fingerprint

    key = _cache_key("prepare")(ctx, params)
    source = params["config"].source
    return key if source.kind == "procedural" else f"{key}-{input_fingerprint(source)}"


def _retry_unless_bad_input(_task, _task_run, state) -> bool:
    """A wrong layout, an unknown class or a dataset without one usable video fail alike on every retry."""
    return not isinstance(state.result(raise_on_failure=False), ValueError)


@task(retries=2, retry_delay_seconds=5, retry_condition_fn=_retry_unless_bad_input, cache_key_fn=_prepare_key,
      persist_result=True)
def prepare_real(config: AugmentConfig) -> str:
    """Render or ingest the real clips into a clip dataset (shards + index, origin=real).

    Real videos are listed first, so that classes named by ``generate.counts``
    are checked before anything is decoded; videos that give no clips are
    shown in a quarantine table artifact.
    """
    from pipelines import ingest_videos, input_fingerprint, prepare_procedural, source_classes

    inputs = _step_inputs("prepare", config)
    if config.source.kind == "procedural":
        out = _dataset_dir(config) / ".cache" / f"real-{fingerprint(inputs)}"
        return str(prepare_procedural(config.source, config.clip, out, config.beam).parent)

    logger = get_run_logger()
    classes = source_classes(config.source)
    unknown = [c for c in config.generate.counts or {} if c not in classes]
    if unknown:
        raise ValueError(f"generate.counts names classes {unknown} that {config.source.root} does not have; "
                         f"it has {len(classes)}: {classes}")
    out = _dataset_dir(config) / ".cache" / f"real-{fingerprint(inputs, input_fingerprint(config.source))}"
    report = ingest_videos(config.source, config.clip, out, config.beam)
    summary = (f"{config.source.kind} {config.source.root}: {report.videos_ingested} videos ingested into "
               f"{report.clips} clips {report.clips_per_split}, {len(report.quarantined)} quarantined")
    logger.info("%s; report: %s", summary, report.quarantine)
    create_table_artifact([{"path": q.path, "reason": q.reason} for q in report.quarantined],
                          key=f"{config.name}-quarantine", description=f"{summary} (videos that gave no clips)")
    return str(out)


@task(retries=1, retry_delay_seconds=5, cache_key_fn=_cache_key("train"), persist_result=True)
def train_generator(config: AugmentConfig, real_dir: str) -> str:
    """Train (or resume training) the class-conditional VGAN on the real training split."""
    from generators import train
    from pipelines import ClipDataset, source_classes

    logger = get_run_logger()
    # The real dataset's folder name carries the fingerprint of its input files, so new data means a new checkpoint.
    key = fingerprint(_step_inputs("train", config), Path(real_dir).name)
    ckpt = _dataset_dir(config) / ".cache" / f"generator-{key}" / "generator.pt"
    clips = ClipDataset(real_dir, split="train")
    logger.info("training on %d real clips from %s", len(clips), real_dir)

    def progress(step: int, stats: dict) -> None:
        logger.info("step %d/%d %s", step, config.train.steps, " ".join(f"{k}={v:.3f}" for k, v in stats.items()))

    return str(train(clips, source_classes(config.source), config.train, config.clip, ckpt, progress=progress))


@task(retries=1, retry_delay_seconds=5, cache_key_fn=_cache_key("judge"), persist_result=True)
def train_judge(config: AugmentConfig, real_dir: str) -> str:
    """Train the judge (the action classifier the quality gate measures with) on the real training split.

    Cached like the generator, by Prefect and on disk; its held-out accuracy on
    the real test split is measured here and travels in its file.
    """
    from evaluation.judge import train_judge as fit_judge
    from pipelines import ClipDataset, source_classes

    key = fingerprint(_step_inputs("judge", config), Path(real_dir).name)
    path = _dataset_dir(config) / ".cache" / f"judge-{key}" / "judge.pt"
    train, test = ClipDataset(real_dir, split="train"), ClipDataset(real_dir, split="test")
    get_run_logger().info("judge: %d real training clips, %d held out, from %s", len(train), len(test), real_dir)
    return str(fit_judge(train, test, source_classes(config.source), config.clip, config.quality.judge, path))


@task(retries=2, retry_delay_seconds=5, cache_policy=NONE)
def generate_candidate(config: AugmentConfig, checkpoint: str, run_key: str) -> str:
    """Generate the planned clips into a candidate folder; finished shards of a crashed run are reused."""
    from pipelines import candidate_dir, generate_dataset

    out = candidate_dir(_dataset_dir(config), run_key)
    generate_dataset(checkpoint, config.generate, out, config.beam)
    return str(out)


@task(cache_policy=NONE)
def validate_candidate(config: AugmentConfig, candidate: str, class_names: list[str], real_dir: str, judge: str):
    """The quality gate: measure the candidate, then run the index and quality suites; Data Docs go to ``validation/``.

    Previews are written too, so a candidate that fails keeps them beside its
    report; the metrics table and a preview are shown as artifacts either way.
    """
    from pipelines import gate_candidate, planned_counts, write_previews
    from pipelines.release.card import quality_rows
    from schemas.expectations import IndexExpectations

    spec = IndexExpectations(
        class_names=class_names,
        counts=planned_counts(config.generate, class_names),
        frames=config.clip.frames,
        height=config.clip.size,
        width=config.clip.size,
        fps=config.clip.fps,
        origin="synthetic",
    )
    cand = Path(candidate)
    report = gate_candidate(cand, real_dir, judge, spec, config.quality)
    previews = write_previews(cand, class_names, config.publish.previews_per_class, config.clip.fps)
    verdict = "passed" if report.success else "FAILED"
    if report.quality is not None:
        create_table_artifact(quality_rows(report.quality), key=f"{config.name}-quality", description=f"{config.dataset} "
                              f"candidate {cand.name}: quality gate {verdict} (judge: {report.quality.judge.name})")
    create_image_artifact(previews[0].resolve().as_uri(), key=f"{config.name}-preview",
                          description=f"contact sheet of candidate {cand.name} ({verdict}), class {class_names[0]}")
    return report


@task(cache_policy=NONE)
def publish_candidate(config: AugmentConfig, candidate: str, checkpoint: str, real_dir: str, report) -> str:
    """Manifest and card into the candidate (its previews are there since validation), then the atomic move."""
    from generators import load_generator
    from pipelines import checksums, dataset_card, publish_version, read_index
    from pipelines.dataset.index_io import per_class_means
    from pipelines.dataset.shards import sha256_file

    meta = load_generator(checkpoint)[1]
    class_names = meta["class_names"]
    cand = Path(candidate)
    index_entry, shard_entries = checksums(cand)
    stats = per_class_means(read_index(cand / "index.parquet"))

    def make_manifest(version_name: str) -> Manifest:
        return Manifest(
            dataset=config.dataset,
            version=version_name,
            clips=sum(s["clips"] for s in stats.values()),
            class_names=class_names,
            counts={name: stats[name]["clips"] for name in class_names if name in stats},
            clip_format={"frames": config.clip.frames, "height": config.clip.size, "width": config.clip.size,
                         "fps": config.clip.fps, "codec": "h264"},
            index=index_entry,
            shards=shard_entries,
            provenance=Provenance(
                checkpoint_sha256=meta["sha256"],
                real_index_sha256=sha256_file(Path(real_dir) / "index.parquet"),
                config=config.model_dump(mode="json"),
                code_version=code_version(),
                flow_run_id=flow_run.get_id(),
                created_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            ),
            validation=ValidationSummary(
                success=report.success,
                evaluated=report.statistics.get("evaluated_expectations", 0),
                failed=report.failed,
                data_docs=_relative(report.data_docs_index, cand),
            ),
            quality=report.quality,
        )

    def card(manifest: Manifest) -> str:
        return dataset_card(manifest, stats, config.publish.license, config.publish.description)

    final = publish_version(cand, _dataset_dir(config), make_manifest, card)
    rows = [{"class": n, "clips": stats[n]["clips"], "motion": round(stats[n]["motion"], 4),
             "flicker": round(stats[n]["flicker"], 4)} for n in class_names if n in stats]
    create_table_artifact(rows, key=f"{config.name}-counts", description=f"{config.dataset} {final.name}: clips and quality per class")
    create_markdown_artifact((final / "README.md").read_text(), key=f"{config.name}-card", description="dataset card")
    return str(final)


@flow(name="augment", log_prints=False)
def augment(config: AugmentConfig) -> str:
    """Make, validate and publish one synthetic dataset version; return its folder."""
    logger = get_run_logger()
    real_dir = _fresh(prepare_real, config, check="index.parquet")
    checkpoint = _fresh(train_generator, config, real_dir)
    judge = _fresh(train_judge, config, real_dir)
    from generators import load_generator

    class_names = load_generator(checkpoint)[1]["class_names"]
    run_key = fingerprint(_step_inputs("generate", config), Path(checkpoint).name, _file_digest(checkpoint))
    candidate = generate_candidate(config, checkpoint, run_key)
    report = validate_candidate(config, candidate, class_names, real_dir, judge)
    if not report.success:
        raise ValidationFailed(
            f"candidate {candidate} failed validation; nothing was published. Failed expectations:\n  "
            + "\n  ".join(report.failed)
            + f"\nReport: {report.data_docs_index or report.results_path}"
        )
    final = publish_candidate(config, candidate, checkpoint, real_dir, report)
    logger.info("published %s", final)
    return final


def _fresh(step, config: AugmentConfig, *args, check: str | None = None) -> str:
    """Run a cached step; if its cached result names a path that no longer exists, run it again."""
    result = step(config, *args)
    path = Path(result) / check if check else Path(result)
    if not path.exists():
        result = step.with_options(refresh_cache=True)(config, *args)
    return result


def _file_digest(path: str) -> str:
    from pipelines.dataset.shards import sha256_file

    return sha256_file(path)


def _relative(path, root: Path) -> str | None:
    return None if path is None else Path(path).resolve().relative_to(root.resolve()).as_posix()


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
