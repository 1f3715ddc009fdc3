"""The ``vgan`` command line: run a deployment's flow directly, or serve the deployments.

``vgan run DEPLOYMENT`` starts from the parameters that ``prefect.yaml`` gives
that deployment and overrides them with options, one per configuration field
(``--train-steps``, ``--clip-size``, ``--generate-counts`` ...), all generated from
:class:`schemas.config.AugmentConfig`, so the CLI, the YAML and the flow
parameters can never drift apart.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import types
import typing
from pathlib import Path

from pydantic import BaseModel, ValidationError

from flows.deployments import deployment_parameters, prefect_yaml_path
from schemas.config import AugmentConfig

_OFFLINE_ENV = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
    # Prefect waits 20 s for its temporary server; with two runs and a training job on two cores
    # (load average 5) it took longer and both runs died before their first task.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
}
EXIT_REFUSED = 3
"""Exit status of a run whose candidate the quality gate refused (an expected outcome, not a crash)."""
# Fields the deployment itself decides.
_NOT_OPTIONS = {("name",)}


def _tag(member: type[BaseModel]) -> str | None:
    """The discriminator value (``kind``) of a union member, if it has one."""
    kind = member.model_fields.get("kind")
    return kind.default if kind is not None else None


def _leaf_fields(model: type[BaseModel], prefix: tuple[str, ...] = (), tag: str | None = None):
    """(path, annotation, field, tag) for every non-model field, descending into nested models and unions.

    ``tag`` names the union member (e.g. the source kind) a field belongs to, None outside unions.
    """
    for name, field in model.model_fields.items():
        path = prefix + (name,)
        ann = field.annotation
        members = [a for a in typing.get_args(ann) if isinstance(a, type) and issubclass(a, BaseModel)]
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from _leaf_fields(ann, path, tag)
        elif typing.get_origin(ann) is typing.Annotated and members:
            for member in members:
                yield from _leaf_fields(member, path, _tag(member))
        elif typing.get_origin(ann) in (typing.Union, types.UnionType) and members:
            for member in members:
                yield from _leaf_fields(member, path, _tag(member))
        elif path not in _NOT_OPTIONS:
            yield path, ann, field, tag


def union_tags() -> set[str]:
    """Every tag of a union member in the configuration (the source kinds), as they appear in error locations."""
    return {tag for *_, tag in _leaf_fields(AugmentConfig) if tag is not None}


def _option(path: tuple[str, ...]) -> str:
    return "--" + "-".join(path).replace("_", "-")


def _parser_for(ann):
    """A string parser for an annotation, and a hint for --help."""
    args = [a for a in typing.get_args(ann) if a is not type(None)]
    origin = typing.get_origin(ann)
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        return _parser_for(args[0])
    if origin is list:
        return (lambda s: [x.strip() for x in s.split(",") if x.strip()]), "A,B,..."
    if origin is dict:
        return _parse_mapping, "NAME=N,..."
    if origin is typing.Literal:
        return str, "{" + ",".join(map(str, args)) + "}"
    if ann is bool:
        return (lambda s: s.lower() in ("1", "true", "yes", "on")), "BOOL"
    return str, ann.__name__.upper() if isinstance(ann, type) else "VALUE"


def _count(text: str) -> int:
    """A whole number >= 0, or argparse's one-line usage error."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _parse_mapping(text: str) -> dict:
    if text.lstrip().startswith("{"):
        return json.loads(text)
    out = {}
    for item in filter(None, (x.strip() for x in text.split(","))):
        name, _, value = item.partition("=")
        out[name.strip()] = value.strip()
    return out


def _preset_value(preset: dict | None, path: tuple[str, ...], tags: list[str]):
    """The value ``preset`` (a deployment's validated config) gives ``path``; ``_MISSING`` where it has none.

    A field of a union member counts only when the preset's source is of that member's kind.
    """
    if preset is None or (tags and preset.get(path[0], {}).get("kind") not in tags):
        return _MISSING
    value = preset
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


_MISSING = object()


def _add_config_options(parser: argparse.ArgumentParser, preset: dict | None = None) -> dict[str, tuple[str, ...]]:
    """One option per field path; a field shared by union members (``--source-root``) is one option.

    Such an option's help names the members that have it, and a ``Literal``
    tag like ``kind`` lists the choices of every member. With ``preset`` (the
    deployment named on the command line), --help shows the deployment's values
    as the defaults, since those are what a run without the option gets.
    """
    by_dest: dict[str, list] = {}
    for path, ann, field, tag in _leaf_fields(AugmentConfig):
        by_dest.setdefault("cfg__" + "__".join(path), []).append((path, ann, field, tag))
    tags_under: dict[str, list[str]] = {}
    for fields in by_dest.values():
        for path, *_, tag in fields:
            if tag is not None and tag not in tags_under.setdefault(path[0], []):
                tags_under[path[0]].append(tag)

    dests: dict[str, tuple[str, ...]] = {}
    for dest, fields in by_dest.items():
        path, ann, field, _ = fields[0]
        tags = [t for *_, t in fields if t is not None]
        if len(fields) > 1 and all(typing.get_origin(a) is typing.Literal for _, a, _, _ in fields):
            ann = typing.Literal[tuple(v for _, a, _, _ in fields for v in typing.get_args(a))]
        conv, metavar = _parser_for(ann)
        help_text = (field.description or "").strip()
        if tags and len(tags) < len(tags_under[path[0]]):
            help_text += f" [{', '.join(tags)}]"
        value = _preset_value(preset, path, tags)
        if value is not _MISSING:
            help_text += f" (default: {value!r})"
        elif field.is_required():
            help_text += " (required)"
        else:
            help_text += f" (default: {field.get_default(call_default_factory=True)!r})"
        parser.add_argument(_option(path), dest=dest, type=conv, metavar=metavar, default=argparse.SUPPRESS,
                            help=help_text.strip())
        dests[dest] = path
    return dests


def _merge(base: dict, path: tuple[str, ...], value) -> None:
    for part in path[:-1]:
        base = base.setdefault(part, {})
    base[path[-1]] = value


def build_config(deployment: str, overrides: dict[tuple[str, ...], object], yaml_path: Path | None = None) -> AugmentConfig:
    """The deployment's parameters from ``prefect.yaml`` with ``overrides`` applied, validated."""
    presets = deployment_parameters(yaml_path)
    if deployment not in presets:
        raise KeyError(f"unknown deployment {deployment!r}; prefect.yaml defines {sorted(presets)}")
    data = json.loads(json.dumps(presets[deployment]))
    data.setdefault("name", deployment)
    kind = overrides.get(("source", "kind"))
    if kind is not None and kind != data.get("source", {}).get("kind", "procedural"):
        data["source"] = {}  # the preset's fields belong to another kind of source
    for path, value in overrides.items():
        _merge(data, path, value)
    return AugmentConfig.model_validate(data)


def format_validation_error(exc: ValidationError) -> str:
    tags = union_tags()  # pydantic puts the union member in the location: source.ucf101.root
    lines = ["invalid configuration:"]
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"] if not str(p).startswith("function-after"))
        loc = tuple(p for p in loc if p not in tags)
        lines.append(f"  {'.'.join(loc) or '(config)'} ({_option(loc)}): {err['msg']}")
    return "\n".join(lines)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vgan-augment")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def _named_preset(argv: list[str], names: list[str]) -> dict | None:
    """The validated config of the deployment ``vgan run NAME`` names, for its --help; None if there is none."""
    if len(argv) < 2 or argv[0] != "run" or argv[1] not in names:
        return None
    try:
        return build_config(argv[1], {}).model_dump(mode="json")
    except ValidationError:
        return None  # reported properly when the run itself validates


def main(argv: list[str] | None = None) -> int:
    for key, value in _OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    parser = argparse.ArgumentParser(prog="vgan", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    names = sorted(deployment_parameters()) if prefect_yaml_path().is_file() else []
    run = sub.add_parser("run", help="run a deployment's flow now, in this process")
    run.add_argument("deployment", help=f"one of {names}" if names else "deployment name from prefect.yaml")
    dests = _add_config_options(run, _named_preset(argv if argv is not None else sys.argv[1:], names))
    run.add_argument("--ucf101-root", metavar="DIR", default=argparse.SUPPRESS,
                     help="UCF-101 as released: the folder of class folders (or its parent); "
                          "same as --source-kind ucf101 --source-root DIR")
    run.add_argument("--scenes", metavar="DIR", default=argparse.SUPPRESS,
                     help="composite actors into these camera scenes (one image or video per camera); "
                          "same as --surveillance-scenes DIR")
    sub.add_parser("serve", help="serve every deployment of prefect.yaml (schedules included) on the Prefect API")
    verify = sub.add_parser("verify", help="re-check a published version's checksums and decode its clips")
    verify.add_argument("version", help="a version folder, or a dataset folder (its `latest` is checked)")
    verify.add_argument("--sample", type=_count, default=None, metavar="N", help="decode only N random clips (default: all)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per Prefect API call otherwise
    logging.getLogger("great_expectations").setLevel(logging.WARNING)  # hundreds of internal INFO lines otherwise
    logging.getLogger("apache_beam").setLevel(logging.WARNING)  # type-hint and runner internals otherwise
    for handler in logging.getLogger().handlers:  # Beam's GCP module warns on the root logger at import
        handler.addFilter(lambda record: not str(record.msg).startswith("apitools not found"))

    if args.command == "verify":
        from pipelines.release.verify import verify_version

        report = verify_version(args.version, decode_sample=args.sample)
        for problem in report.problems:
            print(f"PROBLEM {problem}")
        print(f"{report.version}: {report.files_checked} files, {report.clips_checked} clips checked, "
              f"{report.clips_decoded} decoded, {len(report.problems)} problems")
        return 0 if report.ok else 1
    if args.command == "serve":
        from flows.deployments import RouteConflict, serve_all

        try:
            serve_all()
        except RouteConflict as exc:
            print(f"not serving: {exc}", file=sys.stderr)
            return 2
        return 0
    overrides = {path: getattr(args, dest) for dest, path in dests.items() if hasattr(args, dest)}
    if hasattr(args, "ucf101_root"):
        overrides.update({("source", "kind"): "ucf101", ("source", "root"): args.ucf101_root})
    if hasattr(args, "scenes"):
        overrides[("surveillance", "scenes")] = args.scenes
    try:
        config = build_config(args.deployment, overrides)
    except ValidationError as exc:
        print(format_validation_error(exc), file=sys.stderr)
        return 2
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    if config.source.kind != "procedural":
        from pipelines import LayoutError, list_videos

        try:  # listing opens no video: a wrong root is reported before a flow run starts
            list_videos(config.source)
        except LayoutError as exc:
            print(f"invalid dataset: {exc}", file=sys.stderr)
            return 2
    if config.surveillance is not None and config.surveillance.scenes:
        from pipelines.sources.scenes import scene_files

        try:  # listing decodes nothing: a wrong folder is reported before a flow run starts
            scene_files(config.surveillance.scenes)
        except ValueError as exc:
            print(f"invalid scenes: {exc}", file=sys.stderr)
            return 2
    if "://" not in config.output_root:
        from schemas.atomic import writable_folder_problem

        problem = writable_folder_problem(config.output_root)  # before Beam, which would retry and print pages
        if problem:
            print(f"invalid --output-root: {problem}", file=sys.stderr)
            return 2
    from flows.augment import ValidationFailed, augment

    try:
        final = augment(config)
    except ValidationFailed as exc:
        print(f"not published: {exc.summary}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"published {final}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
