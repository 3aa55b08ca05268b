"""Reading a project's Kubernetes manifests as a cluster takes them (11.5), and validating
them with the real kubernetes-validate."""

from __future__ import annotations

from pathlib import Path

import pytest

from course.measuring import manifests

MANIFESTS = """
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {TRUSTED_PROXIES: 10.0.0.1}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, tier: front}}
    spec:
      containers:
        - name: web
          image: shop:1
          command: [granian, config.wsgi:application]
          ports: [{name: http, containerPort: 8000}]
          envFrom: [{configMapRef: {name: settings}}]
          env:
            - {name: DJANGO_SECRET_KEY, valueFrom: {secretKeyRef: {name: s, key: k}}}
            - {name: DATABASE_URL, value: "postgres://shop:pw@db/shop"}
          readinessProbe: {httpGet: {path: /readyz, port: http}}
          livenessProbe: {httpGet: {path: /healthz, port: 9000}}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: cache}
spec: {selector: {app: redis}, ports: [{port: 6379}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop}
spec:
  rules:
    - http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / manifests.FOLDER
    folder.mkdir(parents=True)
    (folder / "shop.yaml").write_text(MANIFESTS)
    return tmp_path


def test_services_ingresses_and_containers_are_read_as_a_cluster_would(project: Path) -> None:
    found = manifests.read(project)
    web = found.named("Deployment", "web")
    assert web is not None and found.named("Deployment", "worker") is None
    assert found.selected_by(found.named("Service", "web")) == [web]
    assert found.selected_by(found.named("Service", "cache")) == []
    assert found.ingress_services() == {"web"}
    container = manifests.containers(web)[0]
    assert manifests.command_line(container) == "granian config.wsgi:application"
    assert manifests.from_secret(container, "DJANGO_SECRET_KEY")
    assert not manifests.from_secret(container, "DATABASE_URL")
    assert list(manifests.written_values(container)) == [
        ("DATABASE_URL", "postgres://shop:pw@db/shop")]
    assert manifests.configured(container, found, "TRUSTED_PROXIES")
    assert not manifests.configured(container, found, "DATABASE_REPLICA_URL")
    assert manifests.probe_path(container, "readinessProbe") == "/readyz"
    assert manifests.probe_port_served(container, "readinessProbe")
    assert not manifests.probe_port_served(container, "livenessProbe")  # 9000 is not declared


def test_no_manifest_and_broken_yaml_are_one_line_each(tmp_path: Path) -> None:
    with pytest.raises(manifests.ManifestError, match="no manifest in deploy/k8s/"):
        manifests.read(tmp_path)
    folder = tmp_path / manifests.FOLDER
    folder.mkdir(parents=True)
    (folder / "bad.yaml").write_text("kind: [unclosed\n")
    with pytest.raises(manifests.ManifestError, match="bad.yaml is not YAML"):
        manifests.read(tmp_path)


def test_kubernetes_validate_rejects_a_misspelt_field_and_passes_the_rest(project: Path) -> None:
    assert manifests.validate(project) == []
    path = project / manifests.FOLDER / "shop.yaml"
    path.write_text(MANIFESTS.replace("readinessProbe:", "readynessProbe:"))
    errors = manifests.validate(project)
    assert len(errors) == 1 and "deployment/web" in errors[0] and "readynessProbe" in errors[0]
