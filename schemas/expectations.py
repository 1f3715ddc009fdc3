"""The Great Expectations suites that a candidate must pass before a version is published.

Two suites: one over the clip index (this docstring's main subject), and one
over the dataset-level quality figures (:func:`build_quality_suite`).

The suite restates the index contract (docs/dataset-format.md) as data, so a failed
check shows up by name in the Data Docs that ship with every dataset version.
Per-class checks use row conditions and carry a ``description`` that names the
class: GX renders the description in place of its generic sentence, and its
table-level renderer would otherwise hide which class a row count belongs to.

Great Expectations is imported inside :func:`build_suite` because importing it
takes seconds; readers that only need :class:`IndexExpectations` stay fast.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from schemas.index import INDEX_SCHEMA, ORIGINS, REQUIRED_COLUMNS, SCHEMA_VERSION, SPLITS
from schemas.layout import SHARD_PATTERN
from schemas.manifest import QualityFigure

if TYPE_CHECKING:
    import great_expectations as gx

    from schemas.config import AugmentConfig

SHA256_REGEX = r"^[0-9a-f]{64}$"
# fps is stored as float32, so 29.97 comes back as 29.969999...; compare with a
# tolerance far above float32 rounding and far below any real frame-rate difference.
FPS_TOLERANCE = 1e-3

_ORIGIN_COLUMNS = {
    "synthetic": ("generator", "checkpoint_sha256", "seed", "truncation"),
    "real": ("source_path", "start_frame"),
}


@dataclass(frozen=True)
class IndexExpectations:
    """What a particular index must contain: the plan it was generated from.

    ``class_names[i]`` is the name of label ``i`` (the model's full class list);
    ``counts`` names the classes that were planned and how many clips each gets,
    so a dataset may cover a subset of the model's classes. ``measured`` says
    that the quality gate has filled the per-clip judge columns.
    """

    class_names: list[str]
    counts: dict[str, int]
    frames: int
    height: int
    width: int
    fps: float
    origin: str
    codec: str = "h264"
    measured: bool = False
    actors: bool = False  # surveillance clips: per-actor labels are checked (pipelines/release/actor_checks.py)

    def __post_init__(self) -> None:
        # A wrong plan would make every check meaningless, so refuse it up front.
        if len(set(self.class_names)) != len(self.class_names):
            raise ValueError(f"class_names has duplicates: {self.class_names}")
        unknown = [c for c in self.counts if c not in self.class_names]
        if unknown:
            raise ValueError(f"counts names classes not in class_names: {unknown}")
        bad = {c: n for c, n in self.counts.items() if n < 1}
        if bad or not self.counts:
            raise ValueError(f"counts must map planned classes to positive counts, got {self.counts}")
        if self.origin not in ORIGINS:
            raise ValueError(f"origin must be one of {ORIGINS}, got {self.origin!r}")

    @classmethod
    def synthetic(cls, config: "AugmentConfig", class_names: list[str] | tuple[str, ...]) -> "IndexExpectations":
        """What the index of a run's synthetic candidate must hold: the run's plan and clip format."""
        return cls(
            class_names=list(class_names),
            counts=config.generate.planned_counts(class_names),
            frames=config.clip.frames,
            height=config.clip.size,
            width=config.clip.size,
            fps=config.clip.fps,
            origin="synthetic",
            actors=config.surveillance is not None,
        )

    @property
    def planned(self) -> list[tuple[int, str, int]]:
        """(label, name, count) of each planned class, in label order."""
        return sorted((self.class_names.index(c), c, n) for c, n in self.counts.items())


def build_suite(spec: IndexExpectations, name: str) -> "gx.ExpectationSuite":
    """Build (but do not save) the suite for an index planned as ``spec``.

    The suite is not attached to any context: the caller adds it to the
    short-lived context it validates with, so nothing global is touched.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    total = sum(spec.counts.values())
    expectations = [
        *_structure(spec),
        *_labels(spec),
        *_counts(spec, total),
        *_clip_format(spec),
        *_payload(),
        *_provenance(spec.origin),
        *(_per_clip_quality(spec) if spec.measured else []),
        *(_actor_labels() if spec.actors else []),
    ]
    # Passed to the constructor rather than add_expectation(), which looks up the
    # "current" GX context and so fails (or binds to a stranger's) outside one.
    suite = gx.ExpectationSuite(
        name=name,
        expectations=expectations,
        notes=(
            f"Contract of the clip index (schema {SCHEMA_VERSION}): {total} {spec.origin} clips "
            f"in {len(spec.counts)} classes, {spec.frames} frames of {spec.height}x{spec.width} "
            f"at {spec.fps:g} fps, {spec.codec}."
        ),
        meta={"index_schema_version": SCHEMA_VERSION},
    )
    # The constructor logs and skips an invalid expectation instead of raising.
    if len(suite.expectations) != len(expectations):
        raise RuntimeError(f"GX dropped {len(expectations) - len(suite.expectations)} expectations of suite {name!r}")
    return suite


def _structure(spec: IndexExpectations) -> list:
    """Columns exactly as the schema says (plus the derived actor facts), every required value present, keys unique."""
    import great_expectations as gx

    checks = [
        gx.expectations.ExpectTableColumnsToMatchSet(
            column_set=list(INDEX_SCHEMA.names) + (list(ACTOR_CHECK_COLUMNS) if spec.actors else []),
            exact_match=True,
            notes="Readers select columns by name; a missing or extra column breaks the contract.",
        ),
        gx.expectations.ExpectColumnValuesToBeUnique(
            column="key",
            notes="The key names the clip's files inside its shard; a duplicate means a resumed run repeated work.",
        ),
    ]
    checks += [
        gx.expectations.ExpectColumnValuesToNotBeNull(column=c, notes="Required by the index schema.")
        for c in REQUIRED_COLUMNS
    ]
    checks.append(
        gx.expectations.ExpectColumnValuesToBeInSet(
            column="split", value_set=list(SPLITS), notes="Downstream loaders filter on these split names."
        )
    )
    return checks


def _labels(spec: IndexExpectations) -> list:
    """Exactly the planned classes, and every label id paired with its own name.

    "Exactly" is two checks per column, not ``ExpectColumnDistinctValuesToEqualSet``:
    GX 1.24's Data Docs renderer raises on that expectation's result when it has
    unexpected values, whereas these two render cleanly and count the extra rows.
    """
    import great_expectations as gx
    from great_expectations.expectations.row_conditions import Column

    planned = spec.planned
    checks = []
    for column, values in (("label", [p[0] for p in planned]), ("label_name", [p[1] for p in planned])):
        checks += [
            gx.expectations.ExpectColumnDistinctValuesToContainSet(
                column=column, value_set=values, notes="A missing value is a planned class that was not generated."
            ),
            gx.expectations.ExpectColumnValuesToBeInSet(
                column=column, value_set=values, notes="A value outside the set is a class that was never planned."
            ),
        ]
    checks += [
        gx.expectations.ExpectColumnValuesToBeInSet(
            column="label_name",
            value_set=[name],
            row_condition=Column("label") == label,
            description=f"Rows with label {label} must have label_name '{name}'.",
            meta={"class": name, "label": label},
        )
        for label, name, _ in planned
    ]
    return checks


def _counts(spec: IndexExpectations, total: int) -> list:
    """The total and each planned class's clip count, exactly as planned."""
    import great_expectations as gx
    from great_expectations.expectations.row_conditions import Column

    checks = [
        gx.expectations.ExpectTableRowCountToEqual(
            value=total, description=f"The index must have exactly {total} clips (all planned classes)."
        )
    ]
    checks += [
        gx.expectations.ExpectTableRowCountToEqual(
            value=count,
            row_condition=Column("label") == label,
            description=f"Class '{name}' (label {label}) must have exactly {count} clip{'s' if count != 1 else ''}.",
            meta={"class": name, "label": label},
        )
        for label, name, count in spec.planned
    ]
    return checks


def _clip_format(spec: IndexExpectations) -> list:
    """Every clip has the dataset's shape, rate, codec and origin."""
    import great_expectations as gx

    checks = [
        gx.expectations.ExpectColumnValuesToBeInSet(
            column=column, value_set=[value], notes="Every clip of a dataset version shares one clip format."
        )
        for column, value in (
            ("frames", spec.frames),
            ("height", spec.height),
            ("width", spec.width),
            ("codec", spec.codec),
            ("origin", spec.origin),
        )
    ]
    checks.append(
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="fps",
            min_value=spec.fps - FPS_TOLERANCE,
            max_value=spec.fps + FPS_TOLERANCE,
            description=f"fps must equal {spec.fps:g} (within float32 rounding).",
        )
    )
    return checks


def _payload() -> list:
    """Each row points at a plausible, verifiable byte range inside a shard."""
    import great_expectations as gx

    return [
        gx.expectations.ExpectColumnValuesToMatchRegex(
            column="sha256", regex=SHA256_REGEX, notes="Lower-case hex SHA-256 of the mp4 payload."
        ),
        gx.expectations.ExpectColumnValuesToMatchRegex(
            column="shard", regex=SHARD_PATTERN, notes="Shard paths are relative to the version folder."
        ),
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="offset", min_value=0, notes="Byte offset of the mp4 inside its tar."
        ),
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="size", min_value=1, notes="An empty payload is never a valid clip."
        ),
    ]


def _provenance(origin: str) -> list:
    """The columns that make a clip reproducible (synthetic) or traceable (real) are filled."""
    import great_expectations as gx

    checks = [
        gx.expectations.ExpectColumnValuesToNotBeNull(
            column=column, notes=f"Every {origin} clip records where it came from."
        )
        for column in _ORIGIN_COLUMNS[origin]
    ]
    if origin == "synthetic":
        checks.append(
            gx.expectations.ExpectColumnValuesToMatchRegex(
                column="checkpoint_sha256", regex=SHA256_REGEX, notes="Hex SHA-256 of the generator checkpoint."
            )
        )
    return checks


def _per_clip_quality(spec: IndexExpectations) -> list:
    """The quality gate's per-clip columns are filled and in range for every clip."""
    import great_expectations as gx

    note = "Filled per clip by the quality gate."
    checks = [
        gx.expectations.ExpectColumnValuesToBeBetween(column=column, min_value=0, max_value=1, notes=note)
        for column in ("flicker", "motion", "judge_confidence", "nn_distance")
    ]
    checks.append(gx.expectations.ExpectColumnValuesToBeInSet(
        column="judge_label", value_set=list(range(len(spec.class_names))), notes=note))  # fmt: skip
    checks += [
        gx.expectations.ExpectColumnValuesToNotBeNull(column=c, notes=note)
        for c in ("flicker", "motion", "judge_label", "judge_confidence", "nn_distance")
    ]
    return checks


ACTOR_CHECK_COLUMNS = ("actor_count", "actor_boxes_inside", "actor_track_ids_unique", "actor_spans_inside",
                       "actor_visibility_valid")
"""Per-clip facts of the ``actors`` column that the suite checks (filled by ``pipelines/release/actor_checks.py``)."""


def _actor_labels() -> list:
    """Surveillance labels: every clip has actors, and the derived per-clip facts of its ``actors`` all hold.

    The facts are columns that :func:`pipelines.release.actor_checks.actor_check_columns`
    adds to the validated frame (GX checks scalars, ``actors`` is a list of structs).
    """
    import great_expectations as gx

    checks = [
        gx.expectations.ExpectColumnValuesToNotBeNull(column="actors", notes="Every composited clip has its actors."),
        gx.expectations.ExpectColumnValuesToBeBetween(column="actor_count", min_value=1,
                                                      notes="A composited clip holds at least one actor."),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="box_coverage",
                                                      notes="Measured per clip by the compositor."),
    ]
    promises = {
        "actor_boxes_inside": "Every box lies inside the frame, and every actor has one box slot per frame.",
        "actor_track_ids_unique": "Track ids are unique within a clip.",
        "actor_spans_inside": "Event spans are null or lie inside the clip.",
        "actor_visibility_valid": "Visibility is in [0, 1], and 0 where the actor has no box.",
    }
    checks += [gx.expectations.ExpectColumnValuesToBeInSet(column=c, value_set=[True], notes=note)
               for c, note in promises.items()]
    return checks


def quality_table(figures: list[QualityFigure]) -> dict[str, list[float | None]]:
    """The one-row table the quality suite validates: a column per figure, None where it was not measured."""
    return {f.name: [f.value] for f in figures}


def build_quality_suite(figures: list[QualityFigure], name: str) -> "gx.ExpectationSuite":
    """A suite with one expectation per thresholded figure, over the one-row :func:`quality_table`.

    ``ExpectColumnMinToBeBetween`` on a one-row column checks that single
    value and reports it as the observed value; unlike
    ``ExpectColumnValuesToBeBetween`` it fails on a missing value instead of
    skipping it, so a figure that could not be measured does not pass.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    expectations = []
    for f in figures:
        if f.bound is None or f.threshold is None:
            continue
        limit = {"min_value": f.threshold} if f.bound == "min" else {"max_value": f.threshold}
        reference = "" if f.reference is None else f" (real test clips: {f.reference:.4g})"
        expectations.append(
            gx.expectations.ExpectColumnMinToBeBetween(
                column=f.name,
                **limit,
                description=f"{f.name}: {f.description}; must be {'at least' if f.bound == 'min' else 'at most'} "
                f"{f.threshold:g}{reference}.",
                meta={"samples": f.samples, "reference": f.reference},
            )
        )
    suite = gx.ExpectationSuite(
        name=name,
        expectations=expectations,
        notes="Dataset-level quality figures of the candidate against the thresholds of its configuration "
        "(schemas.config.QualityConfig); the real test clips stand for a perfect generator.",
    )
    if len(suite.expectations) != len(expectations):
        raise RuntimeError(f"GX dropped {len(expectations) - len(suite.expectations)} expectations of suite {name!r}")
    return suite
