"""A project's Kubernetes description (11.5): ``deploy/k8s/*.yaml``, read and checked as a
cluster would take it, without a cluster::

    from course.measuring import manifests
    errors = manifests.validate(project)     # kubernetes-validate --strict, offline
    found = manifests.read(project)          # every resource, by kind and name

``kubernetes-validate`` checks each resource against the JSON schemas of one Kubernetes
release (:data:`KUBERNETES_VERSION`), which it ships; it gets a virtual environment of its
own under ``.course/tools/`` the first time, since the schemas of every release weigh about
100 MB. The rest reads the manifests as the cluster would use them: which pods a Service
selects, where a container's settings come from, what its probes ask.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course import paths, venvs

FOLDER = "deploy/k8s"
KUBERNETES_VERSION = "1.37.0"
REQUIREMENTS = Path(__file__).resolve().parent / "kubernetes-requirements.txt"
TOOLS = paths.ROOT / ".course" / "tools" / "kubernetes-validate"
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")
# The Services that stand for what runs beside the app servers (the starter's TODO names them).
BACKING_SERVICES = ("redis", "postgres", "postgres-replica", "objectstore")
# A container variable whose name has one of these holds a secret.
SECRET_WORDS = ("SECRET", "PASSWORD", "TOKEN", "DATABASE_URL")


class ManifestError(Exception):
    """No manifests, or a file that is not YAML: one line for the learner."""


def files(project: Path) -> list[Path]:
    return sorted([*(Path(project) / FOLDER).glob("*.yaml"),
                   *(Path(project) / FOLDER).glob("*.yml")])


def validate(project: Path) -> list[str]:
    """What ``kubernetes-validate --strict`` finds wrong in the project's manifests (a field
    the release does not have, a value of the wrong type, a required one missing): one line
    per resource that failed; none when every one passed."""
    found = files(project)
    if not found:
        raise ManifestError(f"there is no manifest in {FOLDER}/ (*.yaml)")
    python = venvs.ensure_tool(TOOLS, REQUIREMENTS, "kubernetes-validate", quiet=True)
    result = subprocess.run(
        [str(python), "-m", "kubernetes_validate", "--strict", "--no-warn", "--quiet",
         "-k", KUBERNETES_VERSION, *map(str, found)],
        capture_output=True, text=True, timeout=120, check=False)
    lines = [line.strip() for line in (result.stdout + result.stderr).splitlines()
             if line.strip()]
    errors = [line.removeprefix("ERROR ").replace(str(Path(project)) + "/", "")
              for line in lines if not line.startswith(("INFO", "WARN"))]
    if result.returncode and not errors:
        errors = [f"kubernetes-validate failed (exit {result.returncode})"]
    return errors


@dataclass
class Resources:
    """Every resource of the manifests, and questions about them."""

    items: list[dict[str, Any]] = field(default_factory=list)

    def named(self, kind: str, name: str) -> dict[str, Any] | None:
        return next((item for item in self.items if item.get("kind") == kind
                     and item.get("metadata", {}).get("name") == name), None)

    def of_kind(self, *kinds: str) -> list[dict[str, Any]]:
        return [item for item in self.items if item.get("kind") in kinds]

    def running(self, *words: str) -> dict[str, Any] | None:
        """The first workload with a container whose command line has each of ``words``."""
        return next((workload for workload in self.of_kind(*WORKLOADS)
                     if any(set(words) <= set(command_line(container).split())
                            for container in containers(workload))), None)

    def selected_by(self, service: dict[str, Any]) -> list[dict[str, Any]]:
        """The workloads whose pods ``service`` sends traffic to."""
        selector = service.get("spec", {}).get("selector") or {}
        if not selector:
            return []
        return [workload for workload in self.of_kind(*WORKLOADS)
                if selector.items() <= pod_labels(workload).items()]

    def ingress_services(self) -> set[str]:
        """The Services any Ingress sends requests to."""
        names = set()
        for ingress in self.of_kind("Ingress"):
            spec = ingress.get("spec", {})
            backends = [spec.get("defaultBackend") or {}]
            for rule in spec.get("rules") or []:
                backends += [path.get("backend") or {}
                             for path in (rule.get("http") or {}).get("paths") or []]
            names |= {backend["service"]["name"] for backend in backends
                      if backend.get("service", {}).get("name")}
        return names


def read(project: Path) -> Resources:
    """Every resource in the project's manifests (a file's ``---`` separated documents)."""
    import yaml

    found = files(project)
    if not found:
        raise ManifestError(f"there is no manifest in {FOLDER}/ (*.yaml)")
    items = []
    for path in found:
        try:
            items += [item for item in yaml.safe_load_all(path.read_text(encoding="utf-8"))
                      if isinstance(item, dict)]
        except yaml.YAMLError as error:
            raise ManifestError(f"{path.name} is not YAML: {str(error).splitlines()[0]}"
                                ) from None
    return Resources(items)


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload.get("spec", {}).get("template", {}).get("spec", {}) or {}


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    return workload.get("spec", {}).get("template", {}).get("metadata", {}).get("labels") or {}


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    return pod_spec(workload).get("containers") or []


def command_line(container: dict[str, Any]) -> str:
    return " ".join(map(str, [*(container.get("command") or []), *(container.get("args") or [])]))


def written_values(container: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """The container's variables whose value is written in the manifest itself."""
    for entry in container.get("env") or []:
        if "value" in entry:
            yield entry.get("name", ""), str(entry["value"])


def from_secret(container: dict[str, Any], name: str) -> bool:
    """Whether the container's variable ``name`` comes from a Secret (one variable, or every
    key of a Secret)."""
    for entry in container.get("env") or []:
        if entry.get("name") == name:
            return bool((entry.get("valueFrom") or {}).get("secretKeyRef"))
    return any("secretRef" in source for source in container.get("envFrom") or [])


def configured(container: dict[str, Any], resources: Resources, name: str) -> bool:
    """Whether the container gets variable ``name`` at all: written, from a Secret, or from a
    ConfigMap of the manifests that has it."""
    if any(entry.get("name") == name for entry in container.get("env") or []):
        return True
    for source in container.get("envFrom") or []:
        if "secretRef" in source:
            return True
        config = resources.named("ConfigMap", (source.get("configMapRef") or {}).get("name", ""))
        if config and name in (config.get("data") or {}):
            return True
    return False


def probe_path(container: dict[str, Any], probe: str) -> str | None:
    """The path an HTTP probe (``readinessProbe``, ``livenessProbe``) asks, if it is one."""
    return ((container.get(probe) or {}).get("httpGet") or {}).get("path")


def probe_port_served(container: dict[str, Any], probe: str) -> bool:
    """Whether the probe asks a port the container declares (by number or by name)."""
    port = ((container.get(probe) or {}).get("httpGet") or {}).get("port")
    declared = container.get("ports") or []
    return any(port in (entry.get("containerPort"), entry.get("name")) for entry in declared)



def summary(name: str, project: Path) -> dict[str, Any]:
    """One row for the notebook: what the project's manifests describe, and what a cluster
    (and its schema) would say about them."""
    try:
        errors = validate(project)
        found = read(project)
    except ManifestError as error:
        return {"name": name, "resources": 0, "schema_errors": str(error)}
    web = found.named("Deployment", "web")
    container = (containers(web) or [{}])[0] if web else {}
    described = {
        "balancer (Ingress)": "web" in found.ingress_services(),
        "app servers": web is not None,
        "worker": found.running("celery", "worker") is not None,
        **{service: bool(found.named("Service", service)) for service in BACKING_SERVICES},
    }
    written = [variable for workload in found.of_kind(*WORKLOADS)
               for c in containers(workload) for variable, _ in written_values(c)
               if any(word in variable for word in SECRET_WORDS)]
    return {
        "name": name,
        "resources": len(found.items),
        "schema_errors": len(errors),
        "web_replicas": (web or {}).get("spec", {}).get("replicas", 1) if web else 0,
        "missing": ", ".join(part for part, there in described.items() if not there) or "none",
        "secrets_written": ", ".join(written) or "none",
        "probes": " / ".join(probe_path(container, probe) or "none"
                             for probe in ("readinessProbe", "livenessProbe")),
    }
