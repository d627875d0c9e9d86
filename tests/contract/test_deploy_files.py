"""The deployment files, checked the way an operator relies on them.

docker-compose.yml must start every Cadre service with settings the service accepts, in the
right order, on volumes that exist; deploy/k8s/ must describe the same services with probes on
the ports they serve. Setting names are taken from the services' own settings classes, so a
misspelled variable (which pydantic-settings would silently ignore) fails here, not in production.
"""

from __future__ import annotations

import copy
import difflib
import os
import re
import shlex
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from cadre.chassis import telemetry
from cadre.chassis.service_identity import nats_authorization, password_variable, platform_users
from cadre.chassis.settings import ServiceSettings, UnsafeSettingError
from cadre.cli.processes import SERVICES as PLATFORM_SERVICES
from cadre.cli.processes import nats_server_binary
from cadre.cli.testing import settings_class

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
K8S_DIR = ROOT / "deploy" / "k8s"
REQUIRED = ("CADRE_DATABASE_URL", "CADRE_NATS_URL", "CADRE_GRPC_HOST", "CADRE_GRPC_PORT")
PLACEHOLDER_DATABASE_URL = "postgresql+psycopg://cadre:secret@db.example:5432/placeholder"

# Every service package with a composition root: services/<dir>/src/cadre/<svc>/main.py.
SERVICES = sorted(p.parent.name for p in ROOT.glob("services/*/src/cadre/*/main.py"))

Problems = list[str]


# ---------------------------------------------------------------- helpers


def setting_names(cls: type[ServiceSettings]) -> set[str]:
    prefix = cls.model_config.get("env_prefix", "")
    return {f"{prefix}{name}".upper() for name in cls.model_fields}


@contextmanager
def environment(env: dict[str, str], prefix: str) -> Iterator[None]:
    """Exactly `env` for the settings' prefix (and OTEL_*), nothing from the test runner's shell."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith((prefix, "OTEL_")):
                patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        yield


def env_problems(cls: type[ServiceSettings], env: dict[str, str], where: str) -> tuple[Problems, Any]:
    """What a service started with `env` would reject or silently ignore; and its settings."""
    prefix = str(cls.model_config.get("env_prefix", "")).upper()
    known = setting_names(cls)
    problems = [f"{where}: {name} is not set" for name in REQUIRED if not env.get(name)]
    for name in sorted(env):
        if name.startswith(prefix) and name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"{where}: {name} is not a setting of {cls.__name__}{hint}")
    settings = None
    with environment(env, prefix):
        try:
            settings = cls(_env_file=None)  # type: ignore[call-arg]
        except (ValidationError, UnsafeSettingError) as error:
            problems.append(f"{where}: {cls.__name__} rejects the environment: {error}")
        for exporter_name in env.get("OTEL_TRACES_EXPORTER", "").split(","):
            if not exporter_name.strip():
                continue
            try:
                exporter = telemetry.span_exporter(exporter_name.strip())
            except SystemExit as error:
                problems.append(f"{where}: {error}")
            else:
                if exporter is not None:
                    exporter.shutdown()
    if settings is not None and settings.database_url:
        try:
            make_url(settings.database_url).get_dialect()
        except (ArgumentError, ImportError) as error:
            problems.append(f"{where}: CADRE_DATABASE_URL is not a usable SQLAlchemy URL: {error}")
    if "OTEL_SERVICE_NAME" in env and env["OTEL_SERVICE_NAME"] != cls.service_name:
        problems.append(f"{where}: OTEL_SERVICE_NAME={env['OTEL_SERVICE_NAME']} is not {cls.service_name}")
    return problems, settings


def seconds(duration: str | int | float) -> float:
    """A compose duration ("30s", "1m30s") or a plain number of seconds."""
    if isinstance(duration, int | float):
        return float(duration)
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, f"not a duration: {duration!r}"
    return sum(float(n) * units[u] for n, u in parts)


def drain_seconds(settings: ServiceSettings) -> float:
    # server.py: readiness drain, then server.stop(grace), then up to grace for the consumers.
    return settings.readiness_drain_seconds + 2 * settings.shutdown_grace_seconds


def host_of(url: str) -> str:
    return urlsplit(url).hostname or ""


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    result = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


# ---------------------------------------------------------------- compose


def load_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def compose_env(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, None) for item in raw)
    interpolate = re.compile(r"\$\{\w+(?::?-([^}]*))?\}")
    return {
        str(k): interpolate.sub(lambda m: m.group(1) or "", str(v)) for k, v in raw.items() if v is not None
    }


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return {name: "service_started" for name in raw}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in raw.items()}


def mounts(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(type, source, target) of each volume entry, short or long syntax."""
    result = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, str):
            source, _, rest = entry.partition(":")
            target = rest.split(":")[0] if rest else source
            kind = "bind" if source.startswith((".", "/", "~")) else "volume"
            result.append((kind, source if rest else "", target))
        else:
            result.append((entry.get("type", "volume"), entry.get("source", ""), entry["target"]))
    return result


def published_container_ports(service: dict[str, Any]) -> set[int]:
    ports = set()
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            ports.add(int(entry["target"]))
        else:
            ports.add(int(str(entry).split(":")[-1].split("/")[0]))
    return ports


def dockerfile_of(service: dict[str, Any]) -> Path | None:
    build = service.get("build")
    if build is None:
        return None
    if isinstance(build, str):
        build = {"context": build}
    return ROOT / build.get("context", ".") / build.get("dockerfile", "Dockerfile")


def has_healthcheck(service: dict[str, Any]) -> bool:
    check = service.get("healthcheck")
    if check is not None:
        return not check.get("disable", False) and check.get("test") not in (["NONE"], "NONE", None)
    dockerfile = dockerfile_of(service)
    return bool(
        dockerfile and dockerfile.exists() and "HEALTHCHECK" in dict(dockerfile_instructions(dockerfile))
    )


def created_databases(compose: dict[str, Any], service_name: str) -> set[str]:
    names: set[str] = set()
    for kind, source, target in mounts(compose["services"].get(service_name, {})):
        if kind == "bind" and target.startswith("/docker-entrypoint-initdb.d") and source.endswith(".sql"):
            sql = (ROOT / source).read_text()
            names |= {m.lower() for m in re.findall(r"CREATE\s+DATABASE\s+\"?(\w+)", sql, re.IGNORECASE)}
    return names


def compose_service_problems(compose: dict[str, Any], name: str) -> Problems:
    """Everything that would stop `name` from starting, or let it start misconfigured, under compose."""
    services = compose.get("services") or {}
    if name not in services:
        return [f"docker-compose.yml has no service {name!r} (services/{name} has a main.py)"]
    service, cls = services[name], settings_class(name)
    env = compose_env(service)
    problems, settings = env_problems(cls, env, f"compose {name}")
    if settings is None:
        return problems
    port = settings.resolved_grpc_port
    if port not in published_container_ports(service):
        problems.append(f"compose {name}: gRPC port {port} is not published")
    args = (service.get("build") or {}).get("args") or {}
    if str(args.get("SERVICE")) != name or str(args.get("GRPC_PORT", port)) != str(port):
        problems.append(f"compose {name}: build args {args} do not build {name} on port {port}")
    needs = depends_on(service)
    for variable in ("CADRE_NATS_URL", "CADRE_DATABASE_URL"):
        host = host_of(env.get(variable, ""))
        if host in services and needs.get(host) != "service_healthy":
            problems.append(
                f"compose {name}: {variable} uses {host}, so depends_on {host} needs service_healthy"
            )
    otlp_host = host_of(env.get("OTEL_EXPORTER_OTLP_ENDPOINT", ""))
    if otlp_host in services and otlp_host not in needs:
        problems.append(f"compose {name}: OTEL_EXPORTER_OTLP_ENDPOINT uses {otlp_host}, not in depends_on")
    database_host = host_of(settings.database_url)
    if database_host in services:
        database = make_url(settings.database_url).database
        if database not in created_databases(compose, database_host):
            problems.append(
                f"compose {name}: database {database!r} is created by no init script of {database_host}"
            )
    grace = seconds(service.get("stop_grace_period", "10s"))
    if grace <= drain_seconds(settings):
        problems.append(
            f"compose {name}: stop_grace_period {grace}s cuts the {drain_seconds(settings)}s drain"
        )
    return problems


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


def test_there_are_services_to_check() -> None:
    assert "roster" in SERVICES


@pytest.mark.parametrize("name", SERVICES)
def test_each_cadre_service_is_composed_with_settings_it_accepts(compose: dict[str, Any], name: str) -> None:
    assert compose_service_problems(compose, name) == []


def test_a_misspelled_setting_is_caught(compose: dict[str, Any]) -> None:
    broken = copy.deepcopy(compose)
    env = broken["services"]["roster"]["environment"]
    env["CADRE_NATS_ULR"] = env.pop("CADRE_NATS_URL")
    problems = compose_service_problems(broken, "roster")
    assert any("CADRE_NATS_ULR is not a setting" in p and "CADRE_NATS_URL" in p for p in problems), problems
    assert any("CADRE_NATS_URL is not set" in p for p in problems), problems

    broken = copy.deepcopy(compose)
    broken["services"]["roster"]["environment"]["CADRE_GRPC_PORT"] = "71o1"
    assert any("rejects the environment" in p for p in compose_service_problems(broken, "roster"))


def test_builds_point_at_existing_dockerfiles_and_contexts(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        dockerfile = dockerfile_of(service)
        if dockerfile is None:
            continue
        build = service["build"]
        context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
        assert context.is_dir(), f"{name}: build context {context} does not exist"
        assert dockerfile.is_file(), f"{name}: {dockerfile} does not exist"
        instructions = dockerfile_instructions(dockerfile)
        declared = {args.split("=")[0] for keyword, args in instructions if keyword == "ARG"}
        for arg in (build.get("args") or {}) if isinstance(build, dict) else {}:
            assert arg in declared, f"{name}: build arg {arg} is not an ARG of {dockerfile.name}"
        for keyword, args in instructions:
            words = shlex.split(args)
            if keyword in ("COPY", "ADD") and not any(w.startswith("--from") for w in words):
                for source in [w for w in words if not w.startswith("--")][:-1]:
                    assert (context / source).exists(), f"{dockerfile.name}: COPY source {source} missing"


def test_dependencies_exist_and_health_gates_have_healthchecks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for target, condition in depends_on(service).items():
            assert target in services, f"{name} depends on unknown service {target}"
            if condition == "service_healthy":
                assert has_healthcheck(services[target]), (
                    f"{name} waits for {target} to be healthy: no healthcheck"
                )


def test_volumes_are_declared_and_mounted_files_exist(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for kind, source, _ in mounts(service):
            if kind == "volume" and source:
                assert source in declared, f"{name} mounts undeclared volume {source}"
            if kind == "bind":
                assert (ROOT / source).exists(), f"{name} mounts {source}, which does not exist"


def nats_store_dir(config: str) -> str:
    jetstream = re.search(r"jetstream\s*\{([^}]*)\}", config, re.DOTALL)
    assert jetstream, "JetStream is not enabled in the NATS config"
    store = re.search(r"store_dir\s*[:=]?\s*\"?([^\"\s]+)\"?", jetstream.group(1))
    assert store, "JetStream has no explicit store_dir (the default lives under /tmp)"
    return store.group(1)


def check_nats_config(config: str, folder: Path, **env: str) -> None:
    """The same nats-server the test suite runs parses the config (`-t`: test it and exit)."""
    path = folder / "nats-server.conf"
    path.write_text(config)
    run = subprocess.run(
        [nats_server_binary(), "-t", "-c", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=30,
    )
    assert run.returncode == 0, run.stderr


def test_nats_keeps_its_store_on_a_named_volume(compose: dict[str, Any], tmp_path: Path) -> None:
    nats = [s for s in compose["services"].values() if str(s.get("image", "")).startswith("nats:")]
    assert len(nats) == 1
    command = nats[0].get("command") or []
    command = shlex.split(command) if isinstance(command, str) else command
    flag = "--config" if "--config" in command else "-c"
    config_path = command[command.index(flag) + 1]
    config_source = next(
        src for kind, src, target in mounts(nats[0]) if kind == "bind" and target == config_path
    )
    config = (ROOT / config_source).read_text()
    store = nats_store_dir(config)
    assert any(kind == "volume" and src and target == store for kind, src, target in mounts(nats[0])), (
        f"the JetStream store {store} is not on a named volume"
    )
    check_nats_config(config, tmp_path)


# ---------------------------------------------------------------- kubernetes


def load_k8s() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(K8S_DIR.glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any] | None:
    return next((d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name), None)


def pod_specs(docs: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for doc in docs:
        if doc["kind"] in ("Deployment", "StatefulSet", "DaemonSet"):
            yield doc, doc["spec"]["template"]["spec"]


def k8s_service_problems(docs: list[dict[str, Any]], name: str) -> Problems:
    deployment = find(docs, "Deployment", name)
    if deployment is None:
        return [f"deploy/k8s has no Deployment {name!r}"]
    cls = settings_class(name)
    pod = deployment["spec"]["template"]["spec"]
    container = next(c for c in pod["containers"] if c["name"] == name)
    env: dict[str, str] = {}
    problems: Problems = []
    for source in container.get("envFrom") or []:
        ref = source.get("configMapRef", {}).get("name")
        config_map = find(docs, "ConfigMap", ref) if ref else None
        if ref and config_map is None:
            problems.append(f"k8s {name}: envFrom ConfigMap {ref} is not in deploy/k8s")
        env.update({str(k): str(v) for k, v in ((config_map or {}).get("data") or {}).items()})
    for variable in container.get("env") or []:
        if "value" in variable:
            env[variable["name"]] = str(variable["value"])
        elif "secretKeyRef" in variable.get("valueFrom", {}):
            # Secrets are created by the operator; a placeholder stands in for the value.
            placeholder = PLACEHOLDER_DATABASE_URL if variable["name"] == "CADRE_DATABASE_URL" else "secret"
            env[variable["name"]] = placeholder
    found, settings = env_problems(cls, env, f"k8s {name}")
    problems += found
    url_source: dict[str, Any] = next(
        (v for v in container.get("env") or [] if v["name"] == "CADRE_DATABASE_URL"), {}
    )
    if "secretKeyRef" not in url_source.get("valueFrom", {}):
        problems.append(f"k8s {name}: CADRE_DATABASE_URL (it holds a password) must come from a Secret")
    if settings is None:
        return problems
    port = settings.resolved_grpc_port
    declared = {p["containerPort"] for p in container.get("ports") or []}
    if port not in declared:
        problems.append(f"k8s {name}: container does not declare port {port}")
    if settings.profile != "production" or settings.mutual_tls is None or settings.nats_user != name:
        problems.append(f"k8s {name}: production needs mutual TLS and its own NATS user (R15)")
    # Behind mutual TLS the kubelet (no client certificate) probes the plaintext health port.
    probe_port = settings.health_port if settings.mutual_tls else port
    if probe_port not in declared:
        problems.append(f"k8s {name}: container does not declare the probe port {probe_port}")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        if container.get(probe, {}).get("grpc", {}).get("port") != probe_port:
            problems.append(f"k8s {name}: {probe} is not a gRPC health probe on port {probe_port}")
    pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    pause = float(pre_stop[1]) if pre_stop[:1] == ["sleep"] else 0.0
    grace = pod.get("terminationGracePeriodSeconds", 30)
    if grace <= pause + drain_seconds(settings):
        problems.append(f"k8s {name}: terminationGracePeriodSeconds {grace} cuts the drain")
    if settings.stream_replicas != 3:
        problems.append(f"k8s {name}: production streams have 3 replicas, not {settings.stream_replicas}")
    nats = find(docs, "StatefulSet", "nats")
    if nats is None or nats["spec"]["replicas"] < settings.stream_replicas:
        problems.append(f"k8s {name}: NATS has fewer nodes than CADRE_STREAM_REPLICAS")
    return problems


@pytest.fixture(scope="module")
def k8s() -> list[dict[str, Any]]:
    return load_k8s()


def test_k8s_manifests_parse_and_share_the_namespace(k8s: list[dict[str, Any]]) -> None:
    namespaces = [d["metadata"]["name"] for d in k8s if d["kind"] == "Namespace"]
    assert namespaces == ["cadre"]
    for doc in k8s:
        assert doc.get("apiVersion") and doc.get("kind") and doc["metadata"].get("name"), doc
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == "cadre", doc["metadata"]


@pytest.mark.parametrize("name", SERVICES)
def test_each_cadre_service_has_a_deployment_with_settings_it_accepts(
    k8s: list[dict[str, Any]], name: str
) -> None:
    assert k8s_service_problems(k8s, name) == []


def test_a_misspelled_k8s_setting_is_caught(k8s: list[dict[str, Any]]) -> None:
    broken = copy.deepcopy(k8s)
    data = find(broken, "ConfigMap", "roster-config")["data"]  # type: ignore[index]
    data["CADRE_STREAM_REPLICA"] = data.pop("CADRE_STREAM_REPLICAS")
    problems = k8s_service_problems(broken, "roster")
    assert any("CADRE_STREAM_REPLICA is not a setting" in p for p in problems), problems


def test_k8s_probes_use_declared_container_ports(k8s: list[dict[str, Any]]) -> None:
    for workload, pod in pod_specs(k8s):
        for container in pod["containers"]:
            declared = {p["containerPort"] for p in container.get("ports") or []}
            declared |= {p["name"] for p in container.get("ports") or [] if "name" in p}
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                spec = container.get(probe)
                if spec is None:
                    continue
                handler = next(spec[k] for k in ("grpc", "httpGet", "tcpSocket", "exec") if k in spec)
                if "port" in handler:
                    assert handler["port"] in declared, (
                        f"{workload['metadata']['name']}/{container['name']}: {probe} port {handler['port']} "
                        f"is not a container port ({sorted(map(str, declared))})"
                    )


def test_k8s_services_select_pods_that_serve_their_ports(k8s: list[dict[str, Any]]) -> None:
    for service in (d for d in k8s if d["kind"] == "Service"):
        selector = service["spec"]["selector"]
        matches = [
            pod
            for workload, pod in pod_specs(k8s)
            if selector.items() <= workload["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert matches, f"Service {service['metadata']['name']} selects no pods"
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            served = {
                value
                for pod in matches
                for c in pod["containers"]
                for p in c.get("ports", [])
                for value in (p["containerPort"], p.get("name"))
            }
            assert target in served, (
                f"Service {service['metadata']['name']}: targetPort {target} is not served"
            )
    for workload, _ in pod_specs(k8s):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert workload["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_k8s_nats_is_a_jetstream_cluster_on_volumes(k8s: list[dict[str, Any]], tmp_path: Path) -> None:
    nats = find(k8s, "StatefulSet", "nats")
    assert nats is not None
    replicas, headless = nats["spec"]["replicas"], nats["spec"]["serviceName"]
    assert replicas >= 3
    assert (find(k8s, "Service", headless) or {}).get("spec", {}).get("clusterIP") == "None"
    pod = nats["spec"]["template"]["spec"]
    config_volume = next(v for v in pod["volumes"] if "configMap" in v)
    config_map = find(k8s, "ConfigMap", config_volume["configMap"]["name"])
    assert config_map is not None
    (config,) = config_map["data"].values()
    routes = set(re.findall(r"nats://([\w.-]+):6222", config))
    assert routes == {f"nats-{i}.{headless}" for i in range(replicas)}, routes
    store = nats_store_dir(config)
    claims = {c["metadata"]["name"] for c in nats["spec"]["volumeClaimTemplates"]}
    (container,) = pod["containers"]
    assert any(m["mountPath"] == store and m["name"] in claims for m in container["volumeMounts"]), (
        f"the JetStream store {store} is not on a PersistentVolumeClaim"
    )
    users = platform_users(PLATFORM_SERVICES, password_variable)
    check_nats_config(config, tmp_path, SERVER_NAME="nats-0", **{v[1:]: "x" for _, v in users.values()})
    assert nats_authorization(users) in config, (
        "the NATS users and permissions in deploy/k8s/nats.yaml differ from "
        "cadre.chassis.service_identity.platform_users (R15)"
    )
    secret_env = {e["name"] for e in container.get("env") or [] if "secretKeyRef" in e.get("valueFrom", {})}
    assert {password for _, password in users.values()} == {f"${name}" for name in secret_env}
