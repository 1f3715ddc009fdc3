"""Serving the deployments of ``prefect.yaml`` from this process, with their schedules.

``prefect deploy`` + a worker is the production route; ``vgan serve`` is the
no-work-pool route for one machine. Both read the same ``prefect.yaml``.
"""

from __future__ import annotations

from prefect import serve
from prefect.schedules import Cron

from flows.augment import augment
from flows.cli import deployment_parameters, prefect_yaml_path


def serve_all() -> None:
    """Serve every deployment of ``prefect.yaml`` until interrupted."""
    import yaml

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
