"""The vgan command line and prefect.yaml: one option per field, one clear error per bad value."""

import pytest

from flows.cli import build_config, deployment_parameters, main
from schemas.config import AugmentConfig


def test_every_deployment_in_prefect_yaml_is_a_valid_config():
    params = deployment_parameters()
    assert {"augment-demo", "augment-ucf101"} <= set(params)
    for name, config in params.items():
        AugmentConfig.model_validate({**config, "name": name})


def test_options_override_the_deployment_parameters(tmp_path):
    config = build_config(
        "augment-demo",
        {("output_root",): str(tmp_path), ("train", "steps"): "7", ("generate", "counts"): {"run": "3", "fall": "2"}},
    )
    assert config.output_root == str(tmp_path)
    assert config.train.steps == 7
    assert config.generate.counts == {"run": 3, "fall": 2}
    assert config.name == "augment-demo"


def test_help_lists_an_option_per_field(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "augment-ucf101", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for option in ["--output-root", "--train-steps", "--train-model-channels", "--clip-size", "--generate-counts",
                   "--source-clips-per-class", "--beam-runner", "--generate-truncation"]:
        assert option in out


@pytest.mark.parametrize(
    "argv, field",
    [
        (["--train-batch-size", "0"], "train.batch_size"),
        (["--clip-size", "48"], "clip.size"),
        (["--source-classes", "walk_left,moonwalk"], "source.classes"),
        (["--beam-runner", "spark"], "beam.runner"),
        (["--generate-counts", "run=0"], "generate.counts"),
    ],
)
def test_a_bad_value_gets_one_error_naming_the_field(capsys, tmp_path, argv, field):
    code = main(["run", "augment-demo", "--output-root", str(tmp_path), *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert field in err and "invalid configuration" in err
    assert not any(tmp_path.iterdir())


def test_unknown_deployment_is_named(capsys):
    assert main(["run", "augment-nope"]) == 2
    assert "augment-nope" in capsys.readouterr().err


def test_generate_counts_must_name_classes_of_the_source():
    with pytest.raises(ValueError, match="moonwalk"):
        build_config("augment-demo", {("generate", "counts"): {"moonwalk": 2}})
