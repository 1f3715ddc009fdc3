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

from schemas.config import AugmentConfig

_OFFLINE_ENV = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
}
# Fields the deployment itself decides.
_NOT_OPTIONS = {("name",)}


def prefect_yaml_path() -> Path:
    """``prefect.yaml`` of the working directory if there is one, else the one beside the package."""
    here = Path.cwd() / "prefect.yaml"
    return here if here.is_file() else Path(__file__).resolve().parent.parent / "prefect.yaml"


def deployment_parameters(path: Path | None = None) -> dict[str, dict]:
    """The ``config`` parameter of every deployment in ``prefect.yaml``, by deployment name."""
    import yaml

    path = path or prefect_yaml_path()
    if not path.is_file():
        raise FileNotFoundError(f"no prefect.yaml at {path}; run vgan from the project folder")
    spec = yaml.safe_load(path.read_text())
    return {d["name"]: d.get("parameters", {}).get("config", {}) for d in spec.get("deployments", [])}


def _leaf_fields(model: type[BaseModel], prefix: tuple[str, ...] = ()):
    """(path, annotation, field) for every non-model field, descending into nested models and unions."""
    for name, field in model.model_fields.items():
        path = prefix + (name,)
        ann = field.annotation
        members = [a for a in typing.get_args(ann) if isinstance(a, type) and issubclass(a, BaseModel)]
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from _leaf_fields(ann, path)
        elif typing.get_origin(ann) is typing.Annotated and members:
            for member in members:
                yield from _leaf_fields(member, path)
        elif typing.get_origin(ann) in (typing.Union, types.UnionType) and members:
            for member in members:
                yield from _leaf_fields(member, path)
        elif path not in _NOT_OPTIONS:
            yield path, ann, field


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


def _parse_mapping(text: str) -> dict:
    if text.lstrip().startswith("{"):
        return json.loads(text)
    out = {}
    for item in filter(None, (x.strip() for x in text.split(","))):
        name, _, value = item.partition("=")
        out[name.strip()] = value.strip()
    return out


def _add_config_options(parser: argparse.ArgumentParser) -> dict[str, tuple[str, ...]]:
    dests: dict[str, tuple[str, ...]] = {}
    for path, ann, field in _leaf_fields(AugmentConfig):
        opt = _option(path)
        dest = "cfg__" + "__".join(path)
        if dest in dests:
            continue
        conv, metavar = _parser_for(ann)
        default = field.get_default(call_default_factory=True)
        help_text = (field.description or "").strip()
        parser.add_argument(opt, dest=dest, type=conv, metavar=metavar, default=argparse.SUPPRESS,
                            help=f"{help_text} (default: {default!r})".strip())
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
    for path, value in overrides.items():
        _merge(data, path, value)
    return AugmentConfig.model_validate(data)


def format_validation_error(exc: ValidationError) -> str:
    lines = ["invalid configuration:"]
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"] if not str(p).startswith("function-after"))
        loc = tuple(p for p in loc if p != "procedural")
        lines.append(f"  {'.'.join(loc) or '(config)'} ({_option(loc)}): {err['msg']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    for key, value in _OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    parser = argparse.ArgumentParser(prog="vgan", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    names = sorted(deployment_parameters()) if prefect_yaml_path().is_file() else []
    run = sub.add_parser("run", help="run a deployment's flow now, in this process")
    run.add_argument("deployment", help=f"one of {names}" if names else "deployment name from prefect.yaml")
    dests = _add_config_options(run)
    sub.add_parser("serve", help="serve every deployment of prefect.yaml (schedules included) on the Prefect API")
    verify = sub.add_parser("verify", help="re-check a published version's checksums and decode its clips")
    verify.add_argument("version", help="a version folder, or a dataset folder (its `latest` is checked)")
    verify.add_argument("--sample", type=int, default=None, metavar="N", help="decode only N random clips (default: all)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    if args.command == "verify":
        from pipelines.verify import verify_version

        report = verify_version(args.version, decode_sample=args.sample)
        for problem in report.problems:
            print(f"PROBLEM {problem}")
        print(f"{report.version}: {report.files_checked} files, {report.clips_checked} clips checked, "
              f"{report.clips_decoded} decoded, {len(report.problems)} problems")
        return 0 if report.ok else 1
    if args.command == "serve":
        from flows.deployments import serve_all

        serve_all()
        return 0
    overrides = {path: getattr(args, dest) for dest, path in dests.items() if hasattr(args, dest)}
    try:
        config = build_config(args.deployment, overrides)
    except ValidationError as exc:
        print(format_validation_error(exc), file=sys.stderr)
        return 2
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    from flows.augment import augment

    final = augment(config)
    print(final)
    return 0


if __name__ == "__main__":
    sys.exit(main())
