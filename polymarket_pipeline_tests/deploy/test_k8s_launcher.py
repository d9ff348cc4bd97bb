"""The K8sRunLauncher block that dagster.yaml documents in a comment, loaded for real so it cannot rot.

It is parsed out of the comment, loaded by a Dagster instance as its run launcher (dagster-k8s, a
dev dependency pinned like Dagster), and asked for the Kubernetes Job it would create for a run,
whose pod spec is checked for what the comment promises. Outside a cluster the only change is
where the Kubernetes client configuration comes from (a kubeconfig file instead of the in-cluster
service account); no cluster is contacted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster._config import process_config
from dagster_k8s import K8sRunLauncher
from dagster_k8s.container_context import K8sContainerContext
from dagster_k8s.job import construct_dagster_k8s_job

from polymarket_pipeline_tests.deploy.container_files import commented_k8s_launcher, dockerfile_env, load_yaml
from polymarket_pipeline_tests.deploy.harness import PRODUCTION_DAGSTER_YAML

KUBECONFIG = """
apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: test, user: {token: not-a-real-token}}]
contexts: [{name: test, context: {cluster: test, user: test}}]
current-context: test
"""


@pytest.fixture
def block(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("DAGSTER_K8S_NAMESPACE", "polymarket")
    return commented_k8s_launcher()


def test_the_block_matches_the_k8s_run_launcher_config_schema(block: dict[str, Any]) -> None:
    assert (block["module"], block["class"]) == ("dagster_k8s", "K8sRunLauncher")
    result = process_config(K8sRunLauncher.config_type(), block["config"])
    assert result.success, [error.message for error in result.errors or []]
    assert result.value is not None
    assert result.value["job_namespace"] == "polymarket"  # {env: DAGSTER_K8S_NAMESPACE}, resolved

    # The check can fail: a misspelt key in the same block is refused.
    broken = {**block["config"], "env_configmaps": block["config"]["env_config_maps"]}
    assert not process_config(K8sRunLauncher.config_type(), broken).success


def test_an_instance_with_the_block_builds_the_promised_run_pod(
    block: dict[str, Any], tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    config = {**block["config"], "load_incluster_config": False, "kubeconfig_file": str(kubeconfig)}
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump({"run_launcher": {**block, "config": config}}))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        launcher = instance.run_launcher
        assert isinstance(launcher, K8sRunLauncher)
        assert launcher.job_namespace == "polymarket"

        run = dg.DagsterRun(job_name="cold_wallets_job", run_id="0123abcd-0000-0000-0000-000000000000")
        context = K8sContainerContext.create_for_run(run, launcher, include_run_tags=True)
        # No job_image in the block: the code location's image (its DAGSTER_CURRENT_IMAGE) is used.
        job_config = context.get_k8s_job_config(job_image="polymarket_pipeline:1.2.3", run_launcher=launcher)
        job = construct_dagster_k8s_job(
            job_config, args=["dagster", "api", "execute_run", "{}"], job_name="dagster-run-0123abcd",
            user_defined_k8s_config=context.run_k8s_config, component="run_worker",
        )  # fmt: skip
    pod = job.spec.template.spec
    [container] = pod.containers
    assert container.image == "polymarket_pipeline:1.2.3"
    assert container.image_pull_policy == "IfNotPresent"
    assert pod.service_account_name == "dagster"
    sources = {(s.config_map_ref or s.secret_ref).name: type(s.config_map_ref or s.secret_ref).__name__
               for s in container.env_from}  # fmt: skip
    assert sources == {
        "polymarket-pipeline-env": "V1ConfigMapEnvSource",
        "polymarket-pipeline-secrets": "V1SecretEnvSource",
    }
    env = {e.name: e.value for e in container.env}
    assert env["DAGSTER_HOME"] == dockerfile_env()["DAGSTER_HOME"], "the image's DAGSTER_HOME"

    # Terminating the run must outlast the sweep's 30 s SIGTERM grace, like the Docker stop_timeout.
    docker_stop_timeout = load_yaml(PRODUCTION_DAGSTER_YAML)["run_launcher"]["config"]["container_kwargs"][
        "stop_timeout"
    ]
    assert pod.termination_grace_period_seconds == docker_stop_timeout
    assert container.resources.requests == {"cpu": "500m", "memory": "512Mi"}
    assert container.resources.limits == {"memory": "2Gi"}
