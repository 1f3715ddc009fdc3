"""Validate a clip index, and the candidate's quality figures, with Great Expectations.

Each call builds its own ephemeral GX context, so nothing is read from or
written to a global GX project, and the only files produced are the ones under
``out_dir``: ``results.json`` (the full GX validation result of the index),
``quality_results.json`` (that of the quality figures, when there are any) and
``data_docs/`` (a static HTML site with relative links, showing both, so the
folder can be copied into a published dataset version and still work, with
its styles and scripts beside it where they are installed: ``docs_assets``).

The schema version lives in the Parquet metadata, which GX never sees (it
validates a dataframe), so it is checked here, beside the suite.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.parquet as pq

from pipelines.release.docs_assets import make_offline
from schemas.atomic import write_text_atomic
from schemas.expectations import IndexExpectations, build_quality_suite, build_suite, quality_table
from pipelines.release.actor_checks import actor_check_columns
from schemas.index import SCHEMA_VERSION, schema_version_of
from schemas.manifest import QualitySummary

if TYPE_CHECKING:
    import great_expectations as gx
    import pandas as pd

log = logging.getLogger(__name__)

_SITE = "clip_index_docs"


@dataclass
class ValidationReport:
    """The outcome of one validation, small enough to put in a manifest."""

    success: bool
    failed: list[str]
    statistics: dict
    results_path: Path
    data_docs_index: Path | None
    quality: QualitySummary | None = None


def validate_index(
    index_path: str | Path,
    spec: IndexExpectations,
    out_dir: str | Path,
    suite_name: str = "clip_index",
    quality: QualitySummary | None = None,
    run_name: str | None = None,
) -> ValidationReport:
    """Check the index at ``index_path`` (a path or URI) against the plan ``spec``, and ``quality``'s figures.

    Always runs every suite, even when the schema version is wrong, so one
    report lists every problem at once. The returned report's ``quality`` is
    ``quality`` with each thresholded figure's ``passed`` set from the suite.
    ``run_name`` names the run in the Data Docs (default: the dataset and the
    folder the index is in, e.g. ``tiny-3f9a...`` for a candidate of dataset ``tiny``).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = pq.read_table(str(index_path))
    found_version = schema_version_of(table)
    version_problem = _schema_version_problem(found_version)
    frame = table.to_pandas()
    if spec.actors:
        frame = frame.assign(**actor_check_columns(table))

    runs = [(suite_name, frame, build_suite(spec, suite_name), "index.parquet")]
    if quality is not None:
        name = f"{suite_name}_quality"
        runs.append((name, *_ordered_quality(quality, name), "quality figures"))
    docs_tmp = Path(tempfile.mkdtemp(prefix=".data_docs-", dir=out_dir))
    try:
        results = _run_checkpoints(runs, docs_tmp, run_name=run_name or _run_name(index_path))
        make_offline(docs_tmp)
        os.chmod(docs_tmp, 0o755)  # mkdtemp makes it private; the site is meant to be read by anyone
        docs_dir = _replace_dir(docs_tmp, out_dir / "data_docs")
    finally:
        shutil.rmtree(docs_tmp, ignore_errors=True)

    failed = [_describe_failure(r) for result in results for r in result.results if not r.success]
    if version_problem:
        failed.insert(0, version_problem)
    payload = results[0].to_json_dict()
    payload["meta"]["index_schema_version"] = {
        "expected": SCHEMA_VERSION,
        "found": found_version,
        "success": version_problem is None,
    }
    results_path = _write_json(out_dir / "results.json", payload)
    if quality is not None:
        _write_json(out_dir / "quality_results.json", results[1].to_json_dict())
        quality = _with_outcomes(quality, results[1])

    index_html = docs_dir / "index.html"
    statistics = {
        key: sum(r.statistics.get(key, 0) for r in results)
        for key in ("evaluated_expectations", "successful_expectations", "unsuccessful_expectations")
    }
    report = ValidationReport(
        success=all(r.success for r in results) and version_problem is None,
        failed=failed,
        statistics=statistics,
        results_path=results_path,
        data_docs_index=index_html if index_html.is_file() else None,
        quality=quality,
    )
    log.info(
        "validated %s with suites %s: %s (%d of %d expectations failed%s)",
        index_path,
        [name for name, *_ in runs],
        "passed" if report.success else "FAILED",
        report.statistics.get("unsuccessful_expectations", 0),
        report.statistics.get("evaluated_expectations", 0),
        ", schema version wrong" if version_problem else "",
    )
    for line in failed:
        log.warning("failed: %s", line)
    return report


def validate_quality(quality: QualitySummary, name: str = "quality") -> QualitySummary:
    """``quality`` with each thresholded figure's ``passed`` decided by the gate's own suite; no file is written.

    For measurements outside a flow (the generator and threshold benches, the
    metric tests) that must say what the gate would refuse: they ask the
    suite rather than restate its rule. Like :func:`validate_index` it leaves
    GX's in-memory context as GX's current one until the next validation.
    """
    (result,) = _run_checkpoints([(name, *_ordered_quality(quality, name), "quality figures")], None, name)
    return _with_outcomes(quality, result)


def _run_name(index_path: str | Path) -> str:
    """``<dataset>-<folder>`` for an index at ``<dataset>/<folder>/index.parquet`` or ``<dataset>/.candidates/<key>/``.

    No spaces or slashes: GX makes the run name a folder of the site.
    """
    folder = Path(str(index_path)).parent
    dataset = folder.parent.parent if folder.parent.name.startswith(".") else folder.parent
    return f"{dataset.name}-{folder.name}" if dataset.name else folder.name or "index"


_LEADING_FIGURES = ("judge_accuracy",)
"""Shown first in the quality page: the judge's accuracy decides whether every other figure means anything."""


def _ordered_quality(quality: QualitySummary, name: str) -> tuple["pd.DataFrame", "gx.ExpectationSuite"]:
    """The quality figures' frame and suite, the judge's accuracy first, then the gate's own order.

    GX sorts a result page's columns alphabetically unless the suite checks an
    ordered column list, so the suite gets that check too (the frame is ours,
    so it always holds).
    """
    import great_expectations as gx

    frame = _frame(quality_table(quality.figures))
    order = [c for c in _LEADING_FIGURES if c in frame.columns] + [c for c in frame.columns if c not in _LEADING_FIGURES]
    frame = frame[order]
    suite = build_quality_suite(quality.figures, name)
    ordered = gx.expectations.ExpectTableColumnsToMatchOrderedList(
        column_list=order, description="the figures, the judge's accuracy first (it decides whether the others count)")
    return frame, gx.ExpectationSuite(name=name, notes=suite.notes, expectations=[ordered, *suite.expectations])


def _schema_version_problem(found: str | None) -> str | None:
    if found is None:
        return f"schema version: missing from the Parquet metadata (expected {SCHEMA_VERSION})"
    if found != SCHEMA_VERSION:
        return f"schema version: found {found}, expected {SCHEMA_VERSION}"
    return None


def _frame(columns: dict) -> "pd.DataFrame":
    import pandas as pd

    return pd.DataFrame(columns)


def _with_outcomes(quality: QualitySummary, result) -> QualitySummary:
    """``quality`` with ``passed`` of each thresholded figure taken from its expectation's result."""
    outcome = {r.expectation_config.kwargs["column"]: bool(r.success) for r in result.results
               if "column" in r.expectation_config.kwargs}  # the ordered-column-list check has none
    figures = [f.model_copy(update={"passed": outcome.get(f.name)}) for f in quality.figures]
    return quality.model_copy(update={"figures": figures, "passed": bool(result.success)})


def _run_checkpoints(
    runs: list[tuple[str, "pd.DataFrame", "gx.ExpectationSuite", str]], docs_dir: Path | None, run_name: str
) -> list["gx.core.ExpectationSuiteValidationResult"]:
    """Validate each ``(name, frame, suite, asset)`` through a Checkpoint, then render Data Docs into ``docs_dir``
    (none when it is None).

    One checkpoint per frame, since a checkpoint passes one set of batch
    parameters (one dataframe) to all its validations; the checkpoints share
    the context, so the site lists every result. A dataframe batch has no
    asset name in GX's result, so each result gets ``asset`` before the docs
    are built (they would say "Data asset: None").
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    # An explicit config, because the default ephemeral one also registers a docs
    # site in a fresh system temp folder on every call.
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        data_docs_sites={} if docs_dir is None else {
            _SITE: {
                "class_name": "SiteBuilder",
                # GX refuses a relative base_directory; the default output root "out" is one.
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir.resolve())},
                # No "how to" tutorial buttons: readers of a dataset are not GX users.
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", "show_how_to_buttons": False},
            }
        },
        analytics_enabled=False,
        # tqdm bars would otherwise be written into every pipeline and flow log.
        progress_bars=ProgressBarsConfig(globally=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    source = context.data_sources.add_pandas("candidate")
    results = []
    for name, frame, suite, asset in runs:
        batch = source.add_dataframe_asset(name)
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(
                name=f"{name}_validation",
                data=batch.add_batch_definition_whole_dataframe(f"whole_{name}"),
                suite=context.suites.add(suite),
            )
        )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"{name}_checkpoint",
                validation_definitions=[definition],
                result_format={"result_format": "SUMMARY"},
            )
        )
        outcome = checkpoint.run(batch_parameters={"dataframe": frame}, run_id=RunIdentifier(run_name=run_name))
        ((key, result),) = outcome.run_results.items()
        result.meta.setdefault("batch_spec", {})["data_asset_name"] = asset
        context.validation_results_store.set(key, result)
        results.append(result)
    if docs_dir is not None:
        context.build_data_docs(site_names=[_SITE])
    return results


def _describe_failure(result) -> str:
    """One line: expectation type, its column or row condition, what it wanted, what it saw."""
    config = result.expectation_config
    kwargs = config.kwargs
    where = [f"column={kwargs['column']}"] if "column" in kwargs else []
    if kwargs.get("row_condition") is not None:
        where.append(f"where {_condition_text(kwargs['row_condition'])}")
    head = f"{config.type} ({', '.join(where)})" if where else config.type
    wanted = f"{config.description} " if config.description else ""
    return f"{head}: {wanted}{_observed(result)}"


def _condition_text(condition) -> str:
    """Row conditions come back serialised as dicts; render them as ``label == 1``."""
    if isinstance(condition, dict) and condition.get("type") == "comparison":
        return f"{condition['column']['name']} {condition['operator']} {condition['parameter']!r}"
    return repr(condition)


def _observed(result) -> str:
    errors = _exception_messages(result.exception_info)
    if errors:
        return f"raised {'; '.join(errors)}"
    res = result.result or {}
    mismatched = (res.get("details") or {}).get("mismatched")
    if mismatched:
        return f"columns {mismatched}"
    if "partial_missing_list" in res:
        # Distinct-value set checks report the absent values, not one observed value.
        return f"missing {_plain(res['partial_missing_list'])}"
    if res.get("observed_value") is not None:
        return f"observed {_plain(res['observed_value'])}"
    if "observed_value" in res:
        return "observed no value (it could not be measured)"
    if "unexpected_count" in res:
        counts = res.get("partial_unexpected_counts") or []
        sample = ", ".join(f"{_shown(c['value'])} x{c['count']}" for c in counts[:5])
        return f"observed {res['unexpected_count']} unexpected of {res.get('element_count')} rows" + (
            f": {sample}" if sample else ""
        )
    return f"observed {res}"


def _exception_messages(info: dict | None) -> list[str]:
    """GX reports errors either flat or keyed by the metric that raised (e.g. a missing column)."""
    if not info:
        return []
    if "exception_message" in info:
        return [info["exception_message"]] if info["exception_message"] else []
    return sorted({v["exception_message"] for v in info.values() if isinstance(v, dict) and v.get("exception_message")})


def _shown(value) -> str:
    """A sample value as text; pandas turns nulls into NaN, which would read as a float."""
    value = _plain(value)
    return "null" if value is None or value != value else repr(value)


def _plain(value):
    """numpy scalars as Python values, so lines read ``3`` rather than ``np.int32(3)``."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value.item() if hasattr(value, "item") else value


def _replace_dir(src: Path, dest: Path) -> Path:
    """Swap a finished folder in under its final name so readers never see half a site."""
    old = dest.with_name(f".{dest.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if dest.exists():
        os.replace(dest, old)
    os.replace(src, dest)
    shutil.rmtree(old, ignore_errors=True)
    return dest


def _write_json(path: Path, payload: dict) -> Path:
    return write_text_atomic(path, json.dumps(payload, indent=2, sort_keys=True, default=str))
