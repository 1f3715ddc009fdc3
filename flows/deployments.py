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
    """The ``config`` parameter of every deployment in ``prefect.yaml``, by deployment name."""
    import yaml

    path = path or prefect_yaml_path()
    if not path.is_file():
        raise FileNotFoundError(f"no prefect.yaml at {path}; run vgan from the project folder")
    spec = yaml.safe_load(path.read_text())
    return {d["name"]: d.get("parameters", {}).get("config", {}) for d in spec.get("deployments", [])}


def serve_all() -> None:
    """Serve every deployment of ``prefect.yaml`` until interrupted."""
    import yaml
    from prefect import serve
    from prefect.schedules import Cron

    from flows.augment import augment

    spec = yaml.safe_load(prefect_yaml_path().read_text())
    params = deployment_parameters()
    deployments = []
    for d in spec["deployments"]:
        schedules = [Cron(s["cron"], timezone=s.get("timezone", "UTC")) for s in d.get("schedules") or [] if "cron" in s]
        deployments.append(
            augment.to_deployment(
                name=d["name"],
                description=d.get("description"),
                parameters={"config": params[d["name"]]},
                schedules=schedules,
                tags=d.get("tags", []),
            )
        )
    serve(*deployments)
