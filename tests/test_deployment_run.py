"""A deployment run on a real Prefect server: a partial ``config`` override keeps the deployment's other values."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness

from flows.augment import augment
from schemas.manifest import Manifest
from tests.conftest import tiny_config_dict


@pytest.fixture(scope="module")
def prefect_server():
    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_a_partial_override_is_merged_over_the_deployments_config(prefect_server, tmp_path, monkeypatch):
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.runner import Runner

    monkeypatch.chdir(Path(__file__).resolve().parent.parent)  # the served entrypoint is flows/augment.py
    base = tiny_config_dict(tmp_path / "out")
    base.pop("name")  # as in prefect.yaml: the deployment's name names the run
    runner = Runner(name="test-serve")
    runner.add_flow(augment, name="tiny-served", parameters={"config": base})
    # The way a user overrides one value: prefect deployment run 'augment/tiny-served' --param config='{...}'
    flow_run = run_deployment("augment/tiny-served", parameters={"config": {"generate": {"clips_per_class": 3}}},
                              timeout=0)
    asyncio.run(runner.start(run_once=True))  # what `vgan serve` does, for the one run that is due

    with get_client(sync_client=True) as client:
        state = client.read_flow_run(flow_run.id).state
        artifacts = {a.key: a for a in client.read_artifacts() if a.flow_run_id == flow_run.id}
    assert state.is_completed(), state.message
    dataset = tmp_path / "out" / base["dataset"]  # the deployment's output_root and dataset, not the schema's
    manifest = Manifest.model_validate_json((dataset / "v0001" / "manifest.json").read_text())
    assert manifest.counts == {"walk_left": 3, "jump": 3}  # the override
    config = manifest.provenance.config
    assert config["name"] == "tiny-served"
    assert config["clip"] == {**base["clip"], "fps": 8.0} and config["train"]["steps"] == 3  # kept
    assert config["source"]["classes"] == ["walk_left", "jump"] and config["generate"]["shard_size"] == 4
    assert {"tiny-served-quality", "tiny-served-preview", "tiny-served-card"} <= set(artifacts)
    preview = artifacts["tiny-served-preview"]
    assert preview.type == "markdown"
    assert preview.data.count("](data:image/png;base64,") == 2 and "## 000-walk_left" in preview.data
    assert "file://" not in preview.data


def test_a_refused_candidate_ends_in_a_refused_state_with_no_traceback(prefect_server, tmp_path, capfd):
    """The gate's refusal is an expected outcome: exit 3, the reasons once, no traceback, a Failed 'Refused' state."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateName

    from flows.cli import EXIT_REFUSED, main
    from tests.conftest import open_gate_options

    tiny = ["--clip-frames", "8", "--clip-size", "32", "--source-classes", "walk_left,jump",
            "--source-clips-per-class", "6", "--train-steps", "2", "--train-batch-size", "4",
            "--train-model-z-dim", "16", "--train-model-channels", "8", "--generate-clips-per-class", "3",
            "--generate-batch-size", "4", "--publish-previews-per-class", "1", *open_gate_options()]
    # A Frechet distance a billionth of the real clips' own: no generator meets it.
    code = main(["run", "augment-demo", "--output-root", str(tmp_path / "out"), *tiny, "--quality-max-fd-ratio", "1e-9"])
    out, err = capfd.readouterr()
    assert code == EXIT_REFUSED
    assert "Traceback" not in out + err
    assert err.count("not published: ") == 1 and "expectations failed" in err.split("not published: ")[1]
    assert err.count("must be at most 1e-09") <= 1  # each failure at most once: where the gate logs it
    with get_client(sync_client=True) as client:
        refused = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(name=FlowRunFilterStateName(any_=["Refused"])))
        )
    assert len(refused) == 1 and refused[0].state.is_failed()
    assert "nothing was published" in refused[0].state.message and "data_docs" in refused[0].state.message
    assert not list((tmp_path / "out" / "procedural-actions").glob("v*"))


def test_vgan_serve_refuses_deployments_that_a_work_pool_owns(prefect_server, capsys):
    """`prefect deploy` put augment-demo on a work pool: serving it would take it over, so vgan serve says so."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    from flows.cli import main

    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name="local", type="process"))
    augment.to_deployment(name="augment-demo").apply(work_pool_name="local")

    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "not serving" in err and "augment/augment-demo (work pool 'local')" in err
    assert "prefect deployment delete" in err and "augment/augment-ucf101" not in err


def test_prefect_deploy_takes_the_yaml_as_it_is(prefect_server):
    """The work-pool route: `prefect deploy --all` registers both deployments, no FutureWarning, ucf101's cron off."""
    import os
    import subprocess
    import sys

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists
    from prefect.settings import PREFECT_API_URL

    with get_client(sync_client=True) as client:
        try:
            client.create_work_pool(WorkPoolCreate(name="local", type="process"))
        except ObjectAlreadyExists:
            pass
    done = subprocess.run(
        [str(Path(sys.executable).parent / "prefect"), "--no-prompt", "deploy", "--all"],
        cwd=Path(__file__).resolve().parent.parent, env={**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()},
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FutureWarning" not in done.stdout + done.stderr
    with get_client(sync_client=True) as client:
        ucf = client.read_deployment_by_name("augment/augment-ucf101")
        demo = client.read_deployment_by_name("augment/augment-demo")
    assert [(s.schedule.cron, s.active) for s in ucf.schedules] == [("0 2 * * *", False)]
    assert demo.schedules == [] and ucf.work_pool_name == demo.work_pool_name == "local"
