"""The index suite passes a well-formed index and names each kind of break.

A fresh small index is built for every case (3 classes x 4 clips); each broken
variant changes one thing, so the failed lines can be matched precisely.
"""

from __future__ import annotations

import hashlib
import os
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.release.validate import validate_index
from schemas.expectations import IndexExpectations, build_suite
from schemas.index import index_table

CLASSES = ["jump", "run", "wave", "spin"]  # the model knows 4 classes; 3 are planned
PLAN = {"jump": 4, "run": 4, "wave": 4}
SPEC = IndexExpectations(
    class_names=CLASSES, counts=PLAN, frames=16, height=64, width=64, fps=8.0, origin="synthetic"
)


def _row(label: int, i: int) -> dict:
    name = CLASSES[label]
    payload = os.urandom(64)
    return {
        "key": f"{name}-{i:06d}",
        "label": label,
        "label_name": name,
        "origin": "synthetic",
        "split": "train",
        "shard": f"shards/shard-{label:06d}.tar",
        "offset": 1024 * i,
        "size": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "frames": 16,
        "height": 64,
        "width": 64,
        "fps": 8.0,
        "codec": "h264",
        "generator": "vgan",
        "checkpoint_sha256": hashlib.sha256(b"checkpoint").hexdigest(),
        "seed": 1000 * label + i,
        "truncation": 1.0,
        "boxes": [[0.0, 0.0, 8.0, 8.0]] * 16,
    }


def _good_rows() -> list[dict]:
    return [_row(label, i) for label in range(3) for i in range(4)]


def _null_sha256(table: pa.Table) -> pa.Table:
    # index_table refuses a null required value, so break the table the way a faulty writer would.
    i = table.schema.get_field_index("sha256")
    values = pa.array([None] + table["sha256"].to_pylist()[1:], pa.string())
    return table.set_column(i, table.schema.field(i).with_nullable(True), values)


def _write(rows: list[dict], path, edit_table=None):
    table = index_table(rows)
    if edit_table is not None:
        table = edit_table(table)
    pq.write_table(table, path)
    return path


def test_good_index_passes_and_has_data_docs(tmp_path):
    report = validate_index(_write(_good_rows(), tmp_path / "index.parquet"), SPEC, tmp_path / "validation")

    assert report.success, report.failed
    assert report.failed == []
    assert report.statistics["unsuccessful_expectations"] == 0
    assert report.results_path.is_file()
    index_html = report.data_docs_index
    assert index_html is not None and index_html == tmp_path / "validation" / "data_docs" / "index.html"
    html = index_html.read_text()
    assert "clip_index" in html
    # The validation result page is linked (relatively) from the index and names the classes.
    (page,) = re.findall(r"validations/[^'\"]+\.html", html)
    page_html = (index_html.parent / page).read_text()
    assert "Class &#39;wave&#39; (label 2) must have exactly 4 clips" in page_html or "Class 'wave'" in page_html
    # Relocatable: no absolute paths of this run anywhere in the site or the results.
    for path in [report.results_path, *index_html.parent.rglob("*.html")]:
        assert str(tmp_path) not in path.read_text(), path


def _drop_class(rows):
    return [r for r in rows if r["label"] != 2]


def _extra_class(rows):
    return rows + [_row(3, i) for i in range(4)]


def _drop_one_of_class_1(rows):
    return [r for r in rows if r["key"] != "run-000003"]


def _duplicate_key(rows):
    rows[1]["key"] = rows[0]["key"]
    return rows


def _wrong_frames(rows):
    rows[5]["frames"] = 12
    return rows


def _mismatched_name(rows):
    rows[0]["label_name"] = "run"
    return rows


BREAKS = {
    "duplicate key": (_duplicate_key, None, [r"expect_column_values_to_be_unique \(column=key\).*'jump-000000' x2"]),
    "missing class": (
        _drop_class,
        None,
        [
            r"expect_column_distinct_values_to_contain_set \(column=label\): missing \[2\]",
            r"expect_column_distinct_values_to_contain_set \(column=label_name\): missing \['wave'\]",
            r"Class 'wave' \(label 2\) must have exactly 4 clips\. observed 0",
        ],
    ),
    "extra class": (
        _extra_class,
        None,
        [
            r"expect_column_values_to_be_in_set \(column=label\): observed 4 unexpected of 16 rows: 3 x4",
            r"expect_column_values_to_be_in_set \(column=label_name\): .*'spin' x4",
        ],
    ),
    "wrong per-class count": (
        _drop_one_of_class_1,
        None,
        [r"expect_table_row_count_to_equal \(where label == 1\): Class 'run' \(label 1\).*observed 3"],
    ),
    "wrong frame count": (_wrong_frames, None, [r"expect_column_values_to_be_in_set \(column=frames\).*: 12 x1"]),
    "null sha256": (None, _null_sha256, [r"expect_column_values_to_not_be_null \(column=sha256\): observed 1 unexpected of 12 rows: null x1"]),
    "missing schema version": (None, lambda t: t.replace_schema_metadata(None), [r"^schema version: missing"]),
    "label/label_name mismatch": (
        _mismatched_name,
        None,
        [r"\(column=label_name, where label == 0\): Rows with label 0 must have label_name 'jump'.*'run' x1"],
    ),
}


@pytest.mark.parametrize("case", list(BREAKS))
def test_break_fails_with_a_line_naming_it(case, tmp_path):
    edit_rows, edit_table, patterns = BREAKS[case]
    rows = _good_rows()
    if edit_rows is not None:
        rows = edit_rows(rows)
    path = _write(rows, tmp_path / "index.parquet", edit_table)

    report = validate_index(path, SPEC, tmp_path / "validation")

    assert not report.success
    for pattern in patterns:
        assert any(re.search(pattern, line) for line in report.failed), (pattern, report.failed)


def test_a_relative_output_folder_works(tmp_path, monkeypatch):
    """The demo's default output root is the relative path "out"."""
    _write(_good_rows(), tmp_path / "index.parquet")
    monkeypatch.chdir(tmp_path)
    report = validate_index("index.parquet", SPEC, "validation")
    assert report.success, report.failed
    assert (tmp_path / "validation" / "data_docs" / "index.html").is_file()


def test_rerun_replaces_data_docs(tmp_path):
    path = _write(_good_rows(), tmp_path / "index.parquet")
    validate_index(path, SPEC, tmp_path / "validation")
    report = validate_index(path, SPEC, tmp_path / "validation")

    pages = list((tmp_path / "validation" / "data_docs" / "validations").rglob("*.html"))
    assert len(pages) == 1
    assert sorted(p.name for p in (tmp_path / "validation").iterdir()) == ["data_docs", "results.json"]
    assert report.success


def test_plan_naming_unknown_class_is_refused():
    with pytest.raises(ValueError, match="not in class_names"):
        IndexExpectations(class_names=["a"], counts={"b": 1}, frames=16, height=64, width=64, fps=8.0, origin="real")


def test_real_suite_checks_source_columns_not_generator_ones():
    spec = IndexExpectations(
        class_names=["a", "b"], counts={"a": 2, "b": 3}, frames=16, height=64, width=64, fps=29.97, origin="real"
    )
    suite = build_suite(spec, "real_index")

    not_null = {e.column for e in suite.expectations if e.expectation_type == "expect_column_values_to_not_be_null"}
    assert {"source_path", "start_frame"} <= not_null
    assert not {"generator", "checkpoint_sha256", "seed"} & not_null
