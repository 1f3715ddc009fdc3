"""The augment flow: prepare -> train -> generate -> validate -> publish, as Prefect tasks.

Tasks are thin: each calls one plain function of ``pipelines``, ``generators`` or
``evaluation`` and adds what Prefect is for: retries, caching of the expensive
steps, artifacts. Class names are read once, from the real clips' index, and
the checkpoint's metadata once, without its weights.
Expensive steps are cached twice over: by Prefect (a cache key made of the
configuration fingerprint, with persisted results) and on disk (every pipeline
resumes from its finished shards and the trainer from its checkpoint), so a
re-run with the same inputs neither decodes, renders nor trains again.

No ``from __future__ import annotations`` here: a served or deployed run loads
this file by path, as a module pydantic cannot look names up in, so the
flow's parameter annotation must be the class itself, not a string.
"""

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE
from prefect.runtime import deployment, flow_run
from prefect.states import Failed

from schemas.config import AugmentConfig, fingerprint
from schemas.layout import INDEX, cache_dir, candidate_dir
from schemas.overrides import merge_overrides


class ValidationFailed(RuntimeError):
    """The candidate failed its quality gate; it is kept, with its report, and nothing is published.

    ``str()`` lists every failed expectation; ``summary`` is one line that
    points at them, for the run's final state and the CLI, since the gate has
    already logged each failure once.
    """

    def __init__(self, candidate: str, failed: list[str], report: str):
        self.summary = (f"the quality gate refused candidate {candidate}: {len(failed)} expectations failed "
                        f"(logged above as 'failed: ...'); nothing was published. Report: {report}")
        super().__init__(f"candidate {candidate} failed validation; nothing was published. Failed expectations:\n  "
                         + "\n  ".join(failed) + f"\nReport: {report}")


class ValueFailed(ValidationFailed):
    """The candidate's clips lowered a recognizer's real test accuracy beyond ``value.min_gain``; nothing is published."""

    def __init__(self, candidate: str, failed: list[str], report: str):
        super().__init__(candidate, failed, report)
        self.summary = self.summary.replace("the quality gate refused", "the value step refused")


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
        if config.surveillance is not None:
            parts["surveillance"] = config.surveillance
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
    """A wrong layout, an unknown class, a dataset without one usable video or a bad checkpoint
    (``CheckpointError`` is a ``ValueError``) fail alike on every retry, so they fail at once."""
    return not isinstance(state.result(raise_on_failure=False), ValueError)


@task(retries=2, retry_delay_seconds=5, retry_condition_fn=_retry_unless_bad_input, cache_key_fn=_prepare_key,
      persist_result=True)
def prepare_real(config: AugmentConfig) -> str:
    """Render or ingest the real clips into a clip dataset (shards + index, origin=real).

    Classes named by ``generate.counts`` are checked against the listing before
    anything is decoded; videos that give no clips are shown in a quarantine
    table artifact.
    """
    from pipelines import ingest_videos, input_fingerprint, prepare_procedural

    inputs = _step_inputs("prepare", config)
    if config.source.kind == "procedural":
        out = cache_dir(_dataset_dir(config), "real", fingerprint(inputs))
        return str(prepare_procedural(config.source, config.clip, out, config.beam).parent)

    logger = get_run_logger()
    out = cache_dir(_dataset_dir(config), "real", fingerprint(inputs, input_fingerprint(config.source)))
    report = ingest_videos(config.source, config.clip, out, config.beam, required_classes=list(config.generate.counts or {}))
    summary = (f"{config.source.kind} {config.source.root}: {report.videos_ingested} videos ingested into "
               f"{report.clips} clips {report.clips_per_split}, {len(report.quarantined)} quarantined")
    logger.info("%s; report: %s", summary, report.quarantine)
    create_table_artifact([{"path": q.path, "reason": q.reason} for q in report.quarantined],
                          key=f"{config.name}-quarantine", description=f"{summary} (videos that gave no clips)")
    return str(out)


def generator_checkpoint_path(config: AugmentConfig, real_dir: str | Path) -> Path:
    """Where a run of ``config`` on the real clips in ``real_dir`` keeps its generator checkpoint.

    The real dataset's folder name carries the fingerprint of its input files,
    so new data means a new checkpoint. A checkpoint trained elsewhere (on a
    GPU: ``bench/train_generator.py``) is picked up from here and resumed.
    """
    key = fingerprint(_step_inputs("train", config), Path(real_dir).name)
    return cache_dir(_dataset_dir(config), "generator", key) / "generator.pt"


@task(retries=1, retry_delay_seconds=5, retry_condition_fn=_retry_unless_bad_input, cache_key_fn=_cache_key("train"),
      persist_result=True)
def train_generator(config: AugmentConfig, real_dir: str, class_names: list[str]) -> str:
    """Train (or resume training) the class-conditional generator on the real training split."""
    from generators import train
    from generators.training import describe_progress
    from pipelines import ClipDataset

    logger = get_run_logger()
    ckpt = generator_checkpoint_path(config, real_dir)
    clips = ClipDataset(real_dir, split="train")
    logger.info("training on %d real clips from %s", len(clips), real_dir)
    from pipelines.sources.critic_inputs import critic_inputs

    inputs = critic_inputs(config.source, config.train, config.clip, clips)
    for name, data in inputs.items():  # "scenes" feed the scene critic, "mattes" the matte critic
        logger.info("%s critic: %d %s of the real training set", name[:-1], len(data), name)

    def progress(step: int, stats: dict) -> None:
        logger.info("%s", describe_progress(step, config.train.steps, stats))

    return str(train(clips, class_names, config.train, config.clip, ckpt, progress=progress, **inputs))


@task(retries=1, retry_delay_seconds=5, retry_condition_fn=_retry_unless_bad_input, cache_key_fn=_cache_key("judge"),
      persist_result=True)
def train_judge(config: AugmentConfig, real_dir: str, class_names: list[str]) -> str:
    """Train the judge (the action classifier the quality gate measures with) on the real training split.

    Cached like the generator, by Prefect and on disk; its held-out accuracy on
    the real test split is measured here and travels in its file.
    """
    from evaluation.judge import train_judge as fit_judge
    from pipelines import ClipDataset

    path = cache_dir(_dataset_dir(config), "judge", fingerprint(_step_inputs("judge", config), Path(real_dir).name))
    train, test = ClipDataset(real_dir, split="train"), ClipDataset(real_dir, split="test")
    get_run_logger().info("judge: %d real training clips, %d held out, from %s", len(train), len(test), real_dir)
    return str(fit_judge(train, test, class_names, config.clip, config.quality.judge, path / "judge.pt"))


@task(retries=2, retry_delay_seconds=5, cache_policy=NONE)
def generate_candidate(config: AugmentConfig, checkpoint: str, run_key: str) -> str:
    """Generate the planned clips into a candidate folder; finished shards of a crashed run are reused.

    With ``config.surveillance`` the clips are generated actors composited into camera scenes.
    """
    from pipelines import generate_dataset
    from pipelines.jobs.composite import composite_dataset

    out = candidate_dir(_dataset_dir(config), run_key)
    if config.surveillance is not None:
        composite_dataset(checkpoint, config.generate, config.surveillance, out, config.beam)
    else:
        generate_dataset(checkpoint, config.generate, out, config.beam)
    return str(out)


@task(cache_policy=NONE)
def validate_candidate(config: AugmentConfig, candidate: str, class_names: list[str], real_dir: str, judge: str):
    """The quality gate: measure the candidate, then run the index and quality suites; Data Docs go to ``validation/``.

    Previews are written too, so a candidate that fails keeps them beside its
    report; the metrics table and a preview are shown as artifacts either way.
    """
    from pipelines.release.candidate import check_candidate
    from pipelines.release.card import quality_rows
    from pipelines.release.preview import preview_markdown

    checked = check_candidate(candidate, real_dir, judge, config, class_names)
    report, name = checked.report, Path(candidate).name
    verdict = "passed" if report.success else "FAILED"
    if report.quality is not None:
        create_table_artifact(quality_rows(report.quality), key=f"{config.name}-quality", description=f"{config.dataset} "
                              f"candidate {name}: quality gate {verdict} (judge: {report.quality.judge.name})")
    sheets = [p for p in checked.previews if p.suffix == ".png"]
    create_markdown_artifact(preview_markdown(sheets, f"{config.dataset} candidate {name}: real above, synthetic below"),
                             key=f"{config.name}-preview", description=f"contact sheets of candidate {name} ({verdict})")
    return report


@task(cache_policy=NONE)
def measure_value(config: AugmentConfig, candidate: str, real_dir: str):
    """The value step: real-only against real + candidate recognizers, same steps and seeds; checked by GX."""
    from pipelines.release.value import check_value, describe, value_rows
    from pipelines.release.value import measure_value as measure

    value, failed = check_value(candidate, measure(candidate, real_dir, config.value, config.quality.judge.input))
    get_run_logger().info("%s in %.0f s", describe(value), value.seconds)
    create_table_artifact(value_rows(value), key=f"{config.name}-value",
                          description=f"{config.dataset} candidate {Path(candidate).name}: {describe(value)}; "
                          f"recipe: {value.recipe}; recognizer: {value.recognizer}")
    return value, failed


@task(cache_policy=NONE)
def publish_candidate(config: AugmentConfig, candidate: str, class_names: list[str], checkpoint_sha256: str,
                      real_dir: str, report, value=None) -> str:
    """Manifest and card into the candidate (its previews are there since validation), then the atomic move."""
    from pipelines.release.candidate import publish_candidate as publish
    from pipelines.release.card import card_body

    published = publish(candidate, config, class_names, checkpoint_sha256, real_dir, report, flow_run.get_id(), value)
    create_table_artifact(published.per_class, key=f"{config.name}-counts",
                          description=f"{config.dataset} {published.path.name}: clips and quality per class")
    create_markdown_artifact(card_body(published.card), key=f"{config.name}-card", description="dataset card")
    return str(published.path)


@flow(name="augment", log_prints=False)
def augment(config: AugmentConfig) -> str:
    """Make, validate and publish one synthetic dataset version; return its folder.

    In a deployment run, ``config`` holds only what the run overrides; the
    deployment's own ``config`` fills in the rest (see :func:`_with_deployment_config`).
    A candidate the quality gate refuses ends the run in a Failed state named
    ``Refused`` whose message points at the logged failures and the report; calling the
    flow raises :class:`ValidationFailed`, which lists them.
    """
    from generators import read_checkpoint_info
    from pipelines.dataset.reader import class_names as real_class_names
    from pipelines.release.candidate import published_by_identical_run
    from pipelines.release.publish import candidate_lock, published_versions
    from pipelines.sources.scenes import scenes_fingerprint

    logger = get_run_logger()
    config = _with_deployment_config(config)
    published_before = published_versions(_dataset_dir(config))
    real_dir = _fresh(prepare_real, config, check=INDEX)
    class_names = real_class_names(real_dir)  # read once, from the real clips' index
    checkpoint = _fresh(train_generator, config, real_dir, class_names)
    judge = _fresh(train_judge, config, real_dir, class_names)
    info = read_checkpoint_info(checkpoint)
    scenes = scenes_fingerprint(config.surveillance.scenes) if config.surveillance else ""
    run_key = fingerprint(_step_inputs("generate", config), Path(checkpoint).name, info.sha256, scenes)
    # One identical run at a time per candidate; the next one takes the version the first published.
    with candidate_lock(_dataset_dir(config), run_key):
        done = published_by_identical_run(config, info.sha256, published_before)
        if done is not None:
            logger.info("an identical run published %s (latest names it); nothing more to do", done)
            return str(done)
        candidate = generate_candidate(config, checkpoint, run_key)
        report = validate_candidate(config, candidate, list(info.class_names), real_dir, judge)
        refused = None
        if not report.success:
            refused = ValidationFailed(candidate, report.failed, str(report.data_docs_index or report.results_path))
        value = None
        if refused is None and config.value.enabled:
            value, failed = measure_value(config, candidate, real_dir)
            if failed:
                refused = ValueFailed(candidate, failed, str(report.data_docs_index or report.results_path))
        if refused is not None:
            # An expected outcome, not a crash: one Failed state with the reasons, and no traceback.
            return Failed(name="Refused", message=refused.summary, data=refused)
        final = publish_candidate(config, candidate, list(info.class_names), info.sha256, real_dir, report, value)
    logger.info("published %s", final)
    return final


def _with_deployment_config(config: AugmentConfig) -> AugmentConfig:
    """The deployment's own ``config`` with the fields this run set merged on top; ``config`` itself outside a deployment.

    Prefect replaces a top-level parameter whole, so ``prefect deployment run
    'augment/augment-ucf101' --param config='{"output_root": "x"}'`` passes only
    ``output_root``; the fields set in that run (pydantic tracks them) are
    merged over the deployment's parameters as stored on the server, and the
    deployment's name names the run's artifacts unless the run sets ``name``.
    """
    if deployment.id is None:
        return config
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        stored = client.read_deployment(deployment.id)
    merged = merge_overrides((stored.parameters or {}).get("config") or {},
                             config.model_dump(mode="json", exclude_unset=True))
    merged.setdefault("name", stored.name)
    return AugmentConfig.model_validate(merged)


def _fresh(step, config: AugmentConfig, *args, check: str | None = None) -> str:
    """Run a cached step; if its cached result names a path that no longer exists, run it again."""
    result = step(config, *args)
    path = Path(result) / check if check else Path(result)
    if not path.exists():
        result = step.with_options(refresh_cache=True)(config, *args)
    return result
