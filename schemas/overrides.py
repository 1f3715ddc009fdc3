"""Overrides on top of a deployment's configuration: the rule shared by ``vgan run`` and Prefect deployment runs.

Prefect replaces a run's top-level parameters whole, so ``--param
config='{"output_root": "x"}'`` alone would lose every other value the deployment
sets. Both entry points merge instead: the overrides win field by field, nested
sections merge, and the deployment's values stay for everything not named.
"""

from __future__ import annotations

import copy
import typing

from pydantic import BaseModel


def merge_overrides(base: dict, overrides: dict) -> dict:
    """``base`` with ``overrides`` merged on top, section by section; neither argument is changed.

    A ``source`` of another ``kind`` replaces the base's source whole, since the
    base's fields (a UCF-101 root, a split) belong to the other kind of source.
    Only configuration sections merge: a mapping value such as
    ``generate.counts`` is replaced whole, so the classes it leaves out are not generated.
    """
    from schemas.config import AugmentConfig

    if not isinstance(overrides, dict):
        raise TypeError(f"overrides must be a mapping of configuration fields, got {type(overrides).__name__}")
    merged = copy.deepcopy(base)
    source = overrides.get("source")
    if isinstance(source, dict) and source.get("kind", merged.get("source", {}).get("kind", "procedural")) != \
            merged.get("source", {}).get("kind", "procedural"):
        merged.pop("source", None)
    _merge_into(merged, overrides, AugmentConfig)
    return merged


def _section(model: type[BaseModel], key: str, current: dict) -> type[BaseModel] | None:
    """The model class of ``model.key`` if it is a configuration section; for a union, the member of its ``kind``."""
    field = model.model_fields.get(key)
    if field is None:
        return None
    candidates = [field.annotation, *typing.get_args(field.annotation)]
    candidates += [a for c in candidates for a in typing.get_args(c)]  # Annotated[Union[...], ...]
    models = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
    kind = current.get("kind")
    tagged = [m for m in models if "kind" in m.model_fields and m.model_fields["kind"].default == kind]
    return (tagged or models or [None])[0]


def _merge_into(target: dict, overrides: dict, model: type[BaseModel]) -> None:
    for key, value in overrides.items():
        current = target.get(key)
        if isinstance(value, dict) and isinstance(current, dict) and (section := _section(model, key, current)):
            _merge_into(target[key], value, section)
        else:
            target[key] = copy.deepcopy(value)
