"""The dataset card (README.md of a version): what the data is, how it was made, and its limits."""

from __future__ import annotations

import json

from schemas.manifest import Manifest

_LIMITS = """\
- Every clip is synthetic: made by a class-conditional video GAN trained on the real clips named
  under provenance. Its labels are the classes the generator was asked for, not human annotations;
  check the per-class statistics below before relying on a class.
- A generator reproduces the biases of its training clips (viewpoints, actors, backgrounds) and can
  produce artefacts (blurred limbs, unstable masks). Train on a mix of real and synthetic clips and
  always evaluate on real held-out clips.
- Clips are a pure function of (checkpoint, label, seed, truncation, generation config): regenerating
  on the same device type gives the same pixels."""


def dataset_card(manifest: Manifest, stats: dict[str, dict[str, float]], license: str, description: str) -> str:
    """Markdown card; ``stats`` maps class name to per-class means of the index's quality columns."""
    fmt = manifest.clip_format
    cfg = manifest.provenance.config
    lines = [
        f"# {manifest.dataset} {manifest.version}",
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
        f"- Generation: base seed {cfg['generate']['seed']}, truncation {cfg['generate']['truncation']}, x264 crf {cfg['generate']['crf']}.",
        f"- Code version `{manifest.provenance.code_version}`, flow run `{manifest.provenance.flow_run_id}`, "
        f"created {manifest.provenance.created_at}.",
        "",
        "## Validation",
        "",
        f"Great Expectations suite over the index: {'passed' if v.success else 'FAILED'}, "
        f"{v.evaluated} expectations evaluated. Data Docs: `{v.data_docs}`.",
        "",
        "## Reading it",
        "",
        "```python",
        "from pipelines import ClipDataset",
        f"data = ClipDataset('<root>/{manifest.dataset}/{manifest.version}')  # (uint8 T,H,W,3 tensor, label)",
        "```",
        "",
        "Or without our code: `duckdb -c \"select label_name, count(*) from 'index.parquet' group by 1\"`, "
        "and seek `offset`/`size` inside `shard` for a clip's MP4 bytes.",
        "",
        "## Limits",
        "",
        _LIMITS,
        "",
        "Previews: `preview/<class>.png` (contact sheet, one row per clip) and `preview/<class>.gif`.",
        "",
    ]
    return "\n".join(lines)
