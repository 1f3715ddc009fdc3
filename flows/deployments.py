"""The deployments of ``prefect.yaml``: their parameters, and serving them from this process with their schedules.

``prefect.yaml`` is the one place where a deployment's configuration lives:
``vgan run`` starts from its parameters, ``vgan serve`` serves it (the
no-work-pool route for one machine), and ``prefect deploy`` + a worker is the
production route. Prefect is imported only to serve, so the CLI stays fast.
"""

from __future__ import annotations

from pathlib import Path


def prefect_yaml_path() -> Path:
    """``prefect.yaml`` of the working directory if there is one, else the one beside the package."""
    here = Path.cwd() / "prefect.yaml"
    return here if here.is_file() else Path(__file__).resolve().parent.parent / "prefect.yaml"


def deployment_parameters(path: Path | None = None) -> dict[str, dict]:
    """The ``config`` parameter of every deployment in ``prefect.yaml``, by deployment name.

    ``name`` defaults to the deployment's name, so its runs' artifact keys say which deployment made them.
    """
    import yaml

    path = path or prefect_yaml_path()
    if not path.is_file():
        raise FileNotFoundError(f"no prefect.yaml at {path}; run vgan from the project folder")
    spec = yaml.safe_load(path.read_text())
    return {d["name"]: {"name": d["name"], **d.get("parameters", {}).get("config", {})}
            for d in spec.get("deployments", [])}


class RouteConflict(RuntimeError):
    """A deployment to serve is already registered on a work pool (by ``prefect deploy``)."""


def _pool_owned(names: list[str]) -> list[str]:
    """The deployments among ``names`` that the Prefect server already holds on a work pool."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    owned = []
    with get_client(sync_client=True) as client:
        for name in names:
            try:
                stored = client.read_deployment_by_name(f"augment/{name}")
            except ObjectNotFound:
                continue
            if stored.work_pool_name:
                owned.append(f"augment/{name} (work pool {stored.work_pool_name!r})")
    return owned


def served_deployments() -> list:
    """Every deployment of ``prefect.yaml`` as Prefect ``RunnerDeployment`` objects, schedules with their ``active`` flag."""
    import yaml
    from prefect.schedules import Cron

    from flows.augment import augment

    spec = yaml.safe_load(prefect_yaml_path().read_text())
    params = deployment_parameters()
    deployments = []
    for d in spec["deployments"]:
        schedules = [Cron(s["cron"], timezone=s.get("timezone", "UTC"), active=s.get("active", True))
                     for s in d.get("schedules") or [] if "cron" in s]
        deployments.append(
            augment.to_deployment(
                name=d["name"],
                description=d.get("description"),
                parameters={"config": params[d["name"]]},
                schedules=schedules,
                tags=d.get("tags", []),
            )
        )
    return deployments


def serve_all() -> None:
    """Serve every deployment of ``prefect.yaml`` until interrupted.

    Serving a deployment that ``prefect deploy`` put on a work pool would take it
    over (same name, same id) and leave it paused when serving stops, so that is
    refused with :class:`RouteConflict`, naming the deployments and the way out.
    """
    from prefect import serve

    owned = _pool_owned(sorted(deployment_parameters()))
    if owned:
        raise RouteConflict(
            "already deployed on a work pool by `prefect deploy`: " + ", ".join(owned) + ". Serving would take "
            "them over; keep the worker route (`prefect worker start --pool local`), or delete them first "
            "(`prefect deployment delete augment/NAME`) to serve instead."
        )
    serve(*served_deployments())
