"""prefect.yaml deploys each role's flow, and each entrypoint names a real Prefect flow."""

from __future__ import annotations

import importlib
import inspect

import yaml
from prefect import Flow
from prefect.cli.deploy._models import DeploymentConfig

from tests.helpers.project import ROOT


def test_every_role_has_a_deployment_whose_entrypoint_is_a_flow() -> None:
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    deployments = {d["name"]: d for d in spec["deployments"]}
    assert set(deployments) == {"host", "competitor", "miner"}
    for deployment in deployments.values():
        path, name = deployment["entrypoint"].split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        flow = getattr(module, name)
        assert isinstance(flow, Flow)
        # Every parameter given in the deployment is one the flow takes.
        assert set(deployment.get("parameters", {})) <= set(inspect.signature(flow.fn).parameters)
    assert deployments["miner"]["schedules"][0]["interval"] > 0
    # A pass that outlasts the interval must not race the next one for the same models.
    assert DeploymentConfig.model_validate(deployments["miner"]).concurrency_limit == 1
