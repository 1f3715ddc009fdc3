"""The vgan command line and prefect.yaml: one option per field, one clear error per bad value."""

import os
import subprocess
import sys

import pytest

from flows.cli import build_config, main
from flows.deployments import deployment_parameters
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


def test_a_ucf101_root_keeps_the_deployments_other_fields(tmp_path):
    from schemas.config import UCF101Source

    config = build_config("augment-ucf101", {("source", "kind"): "ucf101", ("source", "root"): str(tmp_path)})
    assert isinstance(config.source, UCF101Source) and config.source.root == str(tmp_path)
    assert config.source.split == 1 and (config.clip.frames, config.clip.size, config.clip.fps) == (16, 64, 25)


def test_switching_the_source_kind_drops_the_deployments_source_fields(tmp_path):
    from schemas.config import FolderSource

    config = build_config("augment-demo", {("source", "kind"): "folder", ("source", "root"): str(tmp_path)})
    assert isinstance(config.source, FolderSource) and config.source.test_fraction == 0.25


def test_a_bad_real_source_value_names_the_field(capsys, tmp_path):
    assert main(["run", "augment-ucf101", "--ucf101-root", str(tmp_path), "--source-split", "4"]) == 2
    assert "source.split (--source-split): Input should be less than or equal to 3" in capsys.readouterr().err


def test_a_root_that_is_not_ucf101_is_one_error_before_anything_runs(capsys, tmp_path):
    (tmp_path / "videos" / "some_class").mkdir(parents=True)
    out = tmp_path / "out"
    code = main(["run", "augment-ucf101", "--ucf101-root", str(tmp_path / "videos"), "--output-root", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("invalid dataset: no UCF-101 split lists") and "ucfTrainTestlist/classInd.txt" in err
    assert not out.exists()


def test_help_shows_the_source_kinds_and_the_ucf101_shortcut(capsys):
    with pytest.raises(SystemExit):
        main(["run", "augment-ucf101", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--source-kind {procedural,ucf101,hmdb51,kinetics,folder}" in out
    assert "--ucf101-root DIR" in out and "--source-sampling-clips-per-video" in out
    assert "--source-csv STR annotation CSV: label,youtube_id,time_start,time_end,split [kinetics] (required)" in out


def test_version_prints_the_package_version(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"vgan {version('vgan-augment')}"


def test_help_shows_the_named_deployments_values_as_defaults(capsys):
    import re

    with pytest.raises(SystemExit):
        main(["run", "augment-ucf101", "--help"])
    out = " ".join(capsys.readouterr().out.split("options:")[1].split())  # argparse wraps help text at any space

    def default(option: str) -> str:
        return re.search(re.escape(option) + r" \S+ .*?\(default: ([^)]*)\)", out).group(1)

    assert default("--dataset") == "'ucf101-synthetic'"
    assert default("--clip-fps") == "25.0"
    assert default("--train-steps") == "20000"
    assert default("--generate-clips-per-class") == "500"
    assert default("--source-root") == "'/data/UCF-101'"
    assert default("--source-clips-per-class") == "48"  # a procedural-only field keeps the schema's default


def test_every_deployment_names_its_runs_after_itself():
    for name, config in deployment_parameters().items():
        assert AugmentConfig.model_validate(config).name == name
        assert build_config(name, {}).name == name


def test_the_ucf101_schedule_is_off_until_its_root_is_set():
    import yaml

    from flows.deployments import prefect_yaml_path

    spec = {d["name"]: d for d in yaml.safe_load(prefect_yaml_path().read_text())["deployments"]}
    assert spec["augment-ucf101"]["parameters"]["config"]["source"]["root"] == "/data/UCF-101"
    assert [s["active"] for s in spec["augment-ucf101"]["schedules"]] == [False]
    assert "schedules" not in spec["augment-demo"]  # `schedules: []` draws Prefect's FutureWarning


def test_vgan_serve_registers_the_yaml_schedules_with_their_active_flag():
    from flows.deployments import served_deployments

    served = {d.name: d for d in served_deployments()}
    ucf = served["augment-ucf101"]
    assert [(s.schedule.cron, s.active) for s in ucf.schedules] == [("0 2 * * *", False)]
    assert served["augment-demo"].schedules == []
    assert ucf.parameters["config"]["name"] == "augment-ucf101"


def test_scenes_turns_surveillance_on_and_a_bad_folder_is_named_before_a_run(capsys, tmp_path):
    demo = build_config("augment-demo", {})
    assert demo.surveillance is None
    config = build_config("augment-demo", {("surveillance", "scenes"): str(tmp_path)})
    assert config.surveillance is not None and config.surveillance.scenes == str(tmp_path)
    assert build_config("augment-surveillance", {}).surveillance.scenes is None  # built-in rooms
    empty = tmp_path / "cameras"
    empty.mkdir()
    out = tmp_path / "out"
    assert main(["run", "augment-surveillance", "--output-root", str(out), "--scenes", str(empty)]) == 2
    assert "cameras holds no image" in capsys.readouterr().err and not out.exists()
    assert main(["run", "augment-surveillance", "--surveillance-min-actors", "4",
                 "--surveillance-max-actors", "2"]) == 2
    assert "surveillance" in capsys.readouterr().err


def test_the_temporary_prefect_server_gets_time_to_start_on_a_busy_machine():
    """Prefect's 20 s wait for its temporary server was too short with two runs on two busy cores; a user's own
    setting is kept. A fresh interpreter: Prefect reads its settings once, when it is first imported."""
    probe = ("import contextlib\nfrom flows.cli import main\nwith contextlib.suppress(SystemExit): main(['--version'])\n"
             "from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS as s\nprint(s.value())")
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"}
    for setting, expected in [(None, "180"), ("45", "45")]:
        run_env = env if setting is None else {**env, "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": setting}
        out = subprocess.run([sys.executable, "-c", probe], env=run_env, capture_output=True, text=True, check=True)
        assert out.stdout.split()[-1] == expected
