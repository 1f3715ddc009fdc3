"""The dataset card (README.md of a version): what the data is, how it was made, and its limits.

It opens with a Hugging Face dataset-card YAML header (license, task, size,
where the data files are), so a version pushed to the Hub as it is gets a
filled-in card and a working viewer, then with the verdict, since whether the
version passed its quality gate decides whether the rest is worth reading.
"""

from __future__ import annotations

import json

from schemas.config import DEFAULT_PRESET, MEANINGFUL_TEST_CLIPS
from schemas.layout import preview_path
from schemas.manifest import Manifest, QualitySummary

_LIMITS = """\
- Every clip is synthetic: made by a class-conditional video GAN trained on the real clips named
  under provenance. Its labels are the classes the generator was asked for, not human annotations;
  check the per-class statistics below before relying on a class.
- A generator reproduces the biases of its training clips (viewpoints, actors, backgrounds) and can
  produce artefacts (blurred limbs, unstable masks). Train on a mix of real and synthetic clips and
  always evaluate on real held-out clips.
- Clips are a pure function of (checkpoint, label, seed, truncation, generation config): regenerating
  on the same device type gives the same pixels."""


_SIZE_CATEGORIES = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")]


def hub_header(manifest: Manifest, license: str) -> list[str]:
    """The card's YAML front matter in the Hugging Face dataset-card form (written by hand: a fixed, small shape)."""
    size = next((name for limit, name in _SIZE_CATEGORIES if manifest.clips < limit), "1M<n<10M")
    return [
        "---",
        f"license: {license.lower()}",
        f"pretty_name: {json.dumps(f'{manifest.dataset} {manifest.version}')}",
        "task_categories:",
        "- video-classification",
        "tags:",
        "- synthetic",
        "- video",
        "- action-recognition",
        "size_categories:",
        f"- {size}",
        "configs:",
        "- config_name: clips",
        "  data_files:",
        "  - split: train",
        "    path: shards/*.tar",
        "- config_name: index",
        "  data_files:",
        "  - split: train",
        "    path: index.parquet",
        "---",
        "",
    ]


def card_body(card: str) -> str:
    """The card without its YAML header: what the Prefect UI shows as the card artifact."""
    if card.startswith("---\n"):
        return card.split("\n---\n", 1)[1].lstrip("\n")
    return card


def _verdict(manifest: Manifest) -> str:
    """One line: passed or failed, how many expectations, and the judge's accuracy that the figures rest on."""
    v, q = manifest.validation, manifest.quality
    passed = v.success and (q is None or q.passed)
    line = (f"**Quality gate: {'PASSED' if passed else 'FAILED'}** ({v.evaluated - len(v.failed)} of {v.evaluated} "
            "expectations met")
    if q is not None:
        line += f"; judge held-out accuracy {q.judge.accuracy:.3f}"
    return line + "). Details under [Quality gate](#quality-gate)."


def dataset_card(manifest: Manifest, stats: dict[str, dict[str, float]], license: str, description: str) -> str:
    """Markdown card; ``stats`` maps class name to per-class means of the index's quality columns."""
    fmt = manifest.clip_format
    cfg = manifest.provenance.config
    lines = [
        *hub_header(manifest, license),
        f"# {manifest.dataset} {manifest.version}",
        "",
        _verdict(manifest),
        "",
        description or "Synthetic action clips for training action-recognition and surveillance models.",
        "",
        "## Contents",
        "",
        f"- {manifest.clips} clips, {len(manifest.counts)} classes, {len(manifest.shards)} tar shards "
        "(WebDataset layout: `<key>.mp4` + `<key>.json`), indexed by `index.parquet`.",
        f"- {fmt['frames']} frames of {fmt['width']}x{fmt['height']} at {fmt['fps']:g} fps, {fmt['codec']} in MP4.",
        f"- Index schema version {manifest.schema_version}; license {license}.",
        "",
        "| label | class | clips | mean motion | mean flicker |",
        "| ---: | --- | ---: | ---: | ---: |",
    ]
    for label, name in enumerate(manifest.class_names):
        if name not in manifest.counts:
            continue
        s = stats.get(name, {})
        lines.append(
            f"| {label} | {name} | {manifest.counts[name]} | {s.get('motion', float('nan')):.4f} | {s.get('flicker', float('nan')):.4f} |"
        )
    v = manifest.validation
    lines += [
        "",
        "## How it was made",
        "",
        f"- Source: `{cfg['source']['kind']}` ({json.dumps(cfg['source'], sort_keys=True)}).",
        f"- Generator: two-stream class-conditional VGAN, checkpoint sha256 `{manifest.provenance.checkpoint_sha256}`, "
        f"trained {cfg['train']['steps']} steps (batch {cfg['train']['batch_size']}, {cfg['train']['precision']}).",
        f"- Generation: base seed {cfg['generate']['seed']}, truncation {cfg['generate']['truncation']}, x264 crf {cfg['generate']['crf']}, preset {cfg['generate'].get('preset', DEFAULT_PRESET)}.",
        f"- Code version `{manifest.provenance.code_version}`, flow run `{manifest.provenance.flow_run_id}`, "
        f"created {manifest.provenance.created_at}.",
        "",
        "## Validation",
        "",
        f"Great Expectations suite over the index: {'passed' if v.success else 'FAILED'}, "
        f"{v.evaluated} expectations evaluated. Data Docs: `{v.data_docs}`.",
        "",
        *_quality_lines(manifest),
        *_value_lines(manifest),
        "",
        "## Reading it",
        "",
        "```python",
        "from pipelines import ClipDataset",
        f"data = ClipDataset('<root>/{manifest.dataset}/{manifest.version}')  # (uint8 T,H,W,3 tensor, label)",
        "```",
        "",
        "Or without our code: `duckdb -c \"select label_name, count(*) from 'index.parquet' group by 1\"`, "
        "and seek `offset`/`size` inside `shard` for a clip's MP4 bytes (write `\"offset\"` in SQL: it is a "
        "reserved word). The shards are WebDataset tars (`webdataset.WebDataset`, or Hugging Face "
        "`load_dataset(\"webdataset\", ...)` with `cast_column(\"mp4\", Video(decode=False))`); each clip's JSON "
        "holds its label, provenance, `motion`, `flicker` and `boxes` (`x0, y0, x1, y1`, right/bottom edges "
        "exclusive); the judge's columns are in the index only. See docs/dataset-format.md of the project.",
        "",
        "## Limits",
        "",
        _LIMITS,
        "",
        "## Previews",
        "",
        "Per class, real training clips (top) above synthetic clips (bottom), frames spread over each clip; "
        "`preview/<NNN>-<class>.gif` plays one synthetic clip.",
        "",
        *[f"![{name}]({preview_path('.', label, name, 'png').as_posix()})"
          for label, name in enumerate(manifest.class_names) if name in manifest.counts],
        "",
    ]
    return "\n".join(lines)


def quality_rows(quality: QualitySummary) -> list[dict[str, str]]:
    """One row per quality figure, as text: for the card's table and the flow's metrics artifact."""
    return [
        {
            "figure": f.name,
            "value": _num(f.value),
            "real test clips": _num(f.reference),
            "threshold": "" if f.threshold is None else f"{'>=' if f.bound == 'min' else '<='} {f.threshold:g}",
            "passed": "" if f.passed is None else ("yes" if f.passed else "NO"),
            "clips": ", ".join(f"{k} {n}" for k, n in f.samples.items()),
        }
        for f in quality.figures
    ]


def _quality_lines(manifest: Manifest) -> list[str]:
    """The quality gate's figures, each beside the real test clips' own and its threshold."""
    q = manifest.quality
    if q is None:
        return ["## Quality gate", "", "This version carries no quality figures."]
    lines = [
        "## Quality gate",
        "",
        f"Measured with the project's judge, {q.judge.name} (held-out accuracy {q.judge.accuracy:.3f} on the real "
        f"test clips; clips {q.judge.resize}). The real test clips, unseen by generator and judge, stand for a "
        "perfect generator. Per clip, the index holds `judge_label`, `judge_confidence`, `nn_distance` (pixel RMS "
        "distance to the nearest training clip), `motion` and `flicker`.",
    ]
    fewest = next((f for f in q.figures if f.name == "real_test_clips_per_class"), None)
    if fewest is not None and fewest.value is not None and fewest.value < MEANINGFUL_TEST_CLIPS:
        lines += ["", f"**Caveat: small real test split.** Its smallest class has {fewest.value:.0f} clips (fewer "
                  f"than {MEANINGFUL_TEST_CLIPS}); the figures below that compare with the real test clips, and the "
                  "judge's accuracy, are noise at this size and say little about this version."]  # fmt: skip
    if q.i3d is not None:
        lines += ["", f"FVD: {q.i3d.name}, {q.i3d.resize}."]
    rows = quality_rows(q)
    lines += ["", "| " + " | ".join(rows[0]) + " |", "| --- | ---: | ---: | --- | --- | --- |"]
    lines += ["| " + " | ".join(row.values()) + " |" for row in rows]
    return lines


def _value_lines(manifest: Manifest) -> list[str]:
    """The value step's figures: what these clips did to a recognizer trained on the real clips (none if it was off)."""
    v = manifest.value
    if v is None:
        return []
    lines = ["", "## Value to a recognizer", "",
             f"Mean gain **{v.gain_points:+.2f} ± {v.gain_std:.2f} points** of top-1 on {v.test_clips} real test clips "
             f"(least allowed {v.min_gain:+g}), with {v.real_clips_per_class:g} real training clips per class. "
             f"Recognizer: {v.recognizer}. Mix: {v.recipe} (here {v.synthetic_fraction:g}); same steps and seeds in "
             "both arms.", "", "| seed | real only | real + synthetic | gain (points) |", "| ---: | ---: | ---: | ---: |"]  # fmt: skip
    lines += [f"| {s} | {r:.4f} | {m:.4f} | {g:+.2f} |" for s, r, m, g in zip(v.seeds, v.real_only, v.with_synthetic, v.gains)]
    return lines


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"
