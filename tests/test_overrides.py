"""A run's overrides merge over a deployment's configuration field by field, as Prefect users expect."""

import pytest

from flows.deployments import deployment_parameters
from schemas.config import AugmentConfig
from schemas.overrides import merge_overrides


def test_nested_sections_merge_and_the_rest_is_kept():
    base = deployment_parameters()["augment-ucf101"]
    merged = merge_overrides(base, {"output_root": "/x", "train": {"steps": 5}, "source": {"sampling": {"stride": 2}}})
    config = AugmentConfig.model_validate(merged)
    assert config.output_root == "/x" and config.train.steps == 5
    assert config.train.batch_size == 64 and config.clip.fps == 25 and config.dataset == "ucf101-synthetic"
    assert config.source.root == "/data/UCF-101" and config.source.sampling.stride == 2
    assert config.source.sampling.clips_per_video == 1
    assert base["train"]["steps"] == 20000  # the deployment's own dict is untouched


def test_a_mapping_value_is_replaced_whole_and_another_source_kind_replaces_the_source():
    base = {**deployment_parameters()["augment-demo"], "generate": {"counts": {"run": 2, "fall": 3}}}
    merged = merge_overrides(base, {"generate": {"counts": {"jump": 4}}, "source": {"kind": "folder", "root": "/v"}})
    assert merged["generate"]["counts"] == {"jump": 4}
    assert merged["source"] == {"kind": "folder", "root": "/v"}


def test_overrides_that_are_not_a_mapping_are_refused():
    with pytest.raises(TypeError, match="mapping"):
        merge_overrides({}, ["train.steps=5"])
