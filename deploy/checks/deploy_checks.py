"""Offline checks of deploy/: the Helm chart and the monitoring definitions.

Run by deploy/check.sh inside target/deploy-venv (it installs the pinned tools):

    python deploy/checks/deploy_checks.py flavors      # every bin flavor has a chart values file, and back
    python deploy/checks/deploy_checks.py chart        # values schema, helm lint, render, k8s schemas
    python deploy/checks/deploy_checks.py monitoring   # Datadog JSON, metric names, PromQL
    python deploy/checks/deploy_checks.py ini-keys target/debug   # ini keys vs `reader-* config-keys`

The flavors are discovered (deploy/flavors.py: bins/*/Cargo.toml with
[package.metadata.case-reader] flavor), never listed here.

Helm here is Helm's own Go SDK (v4) through the `helm-python-sdk` wheel (libhelm_c): the
same lint and template engine as the `helm` binary, which no reachable registry ships.
Every check prints PASS/FAIL; the last line is "<suite>: N passed, M failed".
"""

from __future__ import annotations

import configparser
import copy
import json
import re
import sys
import traceback
from pathlib import Path
from typing import Any, Callable

import jsonschema
import yaml

DEPLOY = Path(__file__).resolve().parent.parent
CHART = DEPLOY / "helm" / "case-third-party-reader"
FLAVOR_VALUES = CHART / "values" / "flavors"
MONITORING = DEPLOY / "monitoring"
RELEASE = "case-third-party-reader"
NAMESPACE = "case-management"
sys.path.insert(0, str(DEPLOY))
import flavors as bin_flavors  # noqa: E402 - deploy/flavors.py, the one flavor discovery

# Every flavor of the checkout: the bins' metadata (deploy/flavors.py).
FLAVORS = bin_flavors.flavors()
TENANTS = ["staging", "prod", "gov"]
# Oldest Kubernetes the chart claims (Chart.yaml kubeVersion) and the newest schemas shipped.
KUBE_VERSIONS = ["1.25.0", "1.37.0"]


class CheckFailed(AssertionError):
    """A check's expectation did not hold."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


class Suite:
    """Runs named checks, keeps going after a failure, reports counts."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.passed = 0
        self.failed: list[str] = []

    def run(self, name: str, check: Callable[[], None]) -> None:
        try:
            check()
        except CheckFailed as e:
            self.failed.append(name)
            print(f"FAIL {name}: {e}")
        except Exception:  # noqa: BLE001 - report any crash as that check's failure
            self.failed.append(name)
            print(f"FAIL {name}: crashed\n{traceback.format_exc()}")
        else:
            self.passed += 1
            print(f"PASS {name}")

    def finish(self) -> int:
        print(f"{self.name}: {self.passed} passed, {len(self.failed)} failed")
        return 1 if self.failed else 0


# ------------------------------------------------------------------------- flavors


def flavors_suite() -> int:
    """Bins and chart values files name the same flavors: a flavor ships with its values file
    (values/flavors/<flavor>.yaml), and a values file with no bin is a leftover."""
    suite = Suite("deploy flavors")
    files = {p.stem: p for p in sorted(FLAVOR_VALUES.glob("*.yaml"))}
    bins = bin_flavors.discover()

    suite.run("at least one bin declares [package.metadata.case-reader] flavor", lambda: expect(bool(bins), "no flavor under bins/"))

    def check_bins_have_values() -> None:
        missing = [f"{flavor} ({manifest.relative_to(DEPLOY.parent)})" for flavor, manifest in bins.items() if flavor not in files]
        expect(not missing, f"bin flavors without a chart values file {FLAVOR_VALUES.relative_to(DEPLOY.parent)}/<flavor>.yaml: {missing}")

    suite.run("every bin flavor has values/flavors/<flavor>.yaml", check_bins_have_values)

    def check_values_have_bins() -> None:
        orphans = [str(path.relative_to(DEPLOY.parent)) for name, path in files.items() if name not in bins]
        expect(not orphans, f"chart values files with no bins/*/Cargo.toml declaring their flavor (remove them or add the bin): {orphans}")

    suite.run("every values/flavors/<flavor>.yaml has a bin", check_values_have_bins)

    def check_files_name_themselves() -> None:
        wrong = []
        for name, path in files.items():
            values = load_yaml(path)
            if values.get("flavor") != name:
                wrong.append(f"{path.name}: flavor is {values.get('flavor')!r}, not {name!r}")
            if not (values.get("kafka") or {}).get("topic"):
                wrong.append(f"{path.name}: no kafka.topic")
        expect(not wrong, "; ".join(wrong))

    suite.run("each values/flavors/<flavor>.yaml sets flavor: <flavor> and kafka.topic", check_files_name_themselves)
    return suite.finish()


# --------------------------------------------------------------------------- chart


def load_yaml(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        data = yaml.safe_load(f)
    return data or {}


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merges like `helm -f a.yaml -f b.yaml`: maps deep-merge, everything else replaces."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def user_values(flavor: str | None, tenant: str | None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """What `-f values/flavors/<flavor>.yaml -f values/tenants/<tenant>/values.yaml` passes."""
    values: dict[str, Any] = {}
    if flavor:
        values = merge(values, load_yaml(CHART / "values" / "flavors" / f"{flavor}.yaml"))
    if tenant:
        values = merge(values, load_yaml(CHART / "values" / "tenants" / tenant / "values.yaml"))
    if extra:
        values = merge(values, extra)
    return values


def effective_values(values: dict[str, Any]) -> dict[str, Any]:
    return merge(load_yaml(CHART / "values.yaml"), values)


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    """Renders with Helm's engine and returns the manifests (NOTES.txt excluded)."""
    import helm_python as helm

    with helm.Chart.load(str(CHART)) as chart:
        rendered = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    docs: list[dict[str, Any]] = []
    for path in sorted(rendered):
        if path.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(rendered[path]):
            if doc:
                docs.append(doc)
    return docs


def render_error(values: dict[str, Any]) -> str:
    """Renders values that must be refused; returns Helm's error text."""
    try:
        render(values)
    except Exception as e:  # noqa: BLE001 - the Helm SDK raises its own error types
        return str(e)
    raise CheckFailed("Helm rendered values that must be refused")


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d.get("kind") == kind]


def one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = by_kind(docs, kind)
    expect(len(found) == 1, f"expected exactly one {kind}, got {len(found)}")
    return found[0]


def schema() -> dict[str, Any]:
    with (CHART / "values.schema.json").open(encoding="utf-8") as f:
        return json.load(f)


def schema_errors(values: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(schema())
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(values)]


def validate_k8s(docs: list[dict[str, Any]], kube_versions: list[str] | None = None) -> None:
    import kubernetes_validate

    for doc in docs:
        if doc["apiVersion"].startswith("keda.sh/"):
            validate_scaled_object(doc)
            continue
        for version in kube_versions or KUBE_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                raise CheckFailed(
                    f"{doc['kind']}/{doc['metadata']['name']} is invalid for Kubernetes {version}: "
                    f"{'/'.join(map(str, e.path))}: {e.message}"
                ) from e


# KEDA's CRD schema is not shipped by any package reachable here: check the fields the
# template sets (names as in KEDA's ScaledObject v1alpha1 docs).
SCALED_OBJECT_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "ScaledObject"},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["scaleTargetRef", "minReplicaCount", "maxReplicaCount", "triggers"],
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name"],
                    "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "name": {"type": "string"}},
                },
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "pollingInterval": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["type", "metadata"],
                        "properties": {
                            "type": {"const": "kafka"},
                            "metadata": {
                                "type": "object",
                                "required": ["bootstrapServers", "consumerGroup", "topic", "lagThreshold"],
                                "additionalProperties": {"type": "string"},
                            },
                            "authenticationRef": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {"name": {"type": "string"}},
                            },
                        },
                    },
                },
            },
        },
    },
}


def validate_scaled_object(doc: dict[str, Any]) -> None:
    errors = [e.message for e in jsonschema.Draft7Validator(SCALED_OBJECT_SCHEMA).iter_errors(doc)]
    expect(not errors, f"ScaledObject: {errors}")


def assert_release(docs: list[dict[str, Any]], flavor: str, tenant: str | None, values: dict[str, Any]) -> None:
    """The properties the chart promises, on one rendered release."""
    eff = effective_values(values)
    deployment = one(docs, "Deployment")
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    container = next(c for c in pod["containers"] if c["name"] == "case-third-party-reader")

    if eff["autoscaling"]["enabled"]:
        expect("replicas" not in spec, "with KEDA the Deployment must not set replicas")
    else:
        expect(spec["replicas"] == eff["replicaCount"], f"replicas {spec.get('replicas')} != {eff['replicaCount']}")
    rolling = spec["strategy"]["rollingUpdate"]
    expect(rolling == {"maxUnavailable": 0, "maxSurge": 1}, f"rolling update is {rolling}")

    port = next(p for p in container["ports"] if p["name"] == "health")
    expect(port["containerPort"] == 8080, f"health port {port['containerPort']}")
    for probe_name, path in (("livenessProbe", "/liveness"), ("readinessProbe", "/readiness")):
        probe = container[probe_name]
        expect(probe["httpGet"] == {"path": path, "port": "health"}, f"{probe_name} is {probe['httpGet']}")
        expect(probe["initialDelaySeconds"] == 30, f"{probe_name} initial delay {probe['initialDelaySeconds']}")

    shutdown = eff["shutdown"]
    expect(
        pod["terminationGracePeriodSeconds"] >= shutdown["drainSeconds"] + shutdown["commitMarginSeconds"],
        "termination grace shorter than the drain",
    )
    expect(pod["securityContext"]["runAsNonRoot"] is True, "pod may run as root")
    expect(container["securityContext"]["readOnlyRootFilesystem"] is True, "root filesystem is writable")
    expect(container["securityContext"]["allowPrivilegeEscalation"] is False, "privilege escalation allowed")

    repository = "casethirdpartyreaderfips" if tenant == "gov" else "casethirdpartyreader"
    image = container["image"]
    expect(f"/{repository}:" in image and image.endswith(f"-{flavor}"), f"image {image} is not {repository}:*-{flavor}")
    expect(container["args"] == ["run", "--config", "/etc/datadog/case-third-party-reader.ini"], f"args {container['args']}")

    service_account = one(docs, "ServiceAccount")
    expect(pod["serviceAccountName"] == service_account["metadata"]["name"], "pod does not use the chart's service account")
    expect(service_account["automountServiceAccountToken"] is False, "service account token is mounted")

    config_map = one(docs, "ConfigMap")
    ini_text = config_map["data"]["case-third-party-reader.ini"]
    ini = configparser.ConfigParser(interpolation=None)
    ini.read_string(ini_text)
    for section in ("kafka", "case_api", "dd.kafka.consumer", "health", "metrics"):
        expect(ini.has_section(section), f"ini lacks [{section}]")
    topic = load_yaml(FLAVOR_VALUES / f"{flavor}.yaml")["kafka"]["topic"]
    expect(ini["kafka"]["topic"] == topic, f"topic {ini['kafka']['topic']} != {topic} (values/flavors/{flavor}.yaml)")
    log_level = eff["logLevel"] + (f",{flavor}={eff['integrationLogLevel']}" if eff["integrationLogLevel"] else "")
    expect(ini["tracing"]["log_level"] == log_level, f"log_level {ini['tracing']['log_level']} != {log_level}")
    expect(ini["kafka"]["group_id"] == "case-management", "group id")
    expect(ini["health"]["port"] == "8080", "ini health port")

    consul = eff["consulTemplate"]["enabled"]
    init = {c["name"]: c for c in pod.get("initContainers", [])}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    expect(mounts.get("config") == "/etc/datadog", f"config mounted at {mounts.get('config')}")
    volumes = {v["name"]: v for v in pod["volumes"]}
    if consul:
        expect("consul-template-init" in init, "consul-template init container missing")
        args = init["consul-template-init"]["args"]
        expect(
            "-template=/etc/templates/case-third-party-reader.ini:/etc/datadog/case-third-party-reader.ini" in args,
            f"consul-template args {args}",
        )
        expect("emptyDir" in volumes["config"], "with consul-template the reader must read the rendered file")
        expect(volumes["config-template"]["configMap"]["name"] == config_map["metadata"]["name"], "template volume")
        if eff["consulTemplate"]["skipMessagesKey"]:
            expect("keyOrDefault" in ini["dd.kafka.consumer"]["skip_messages"], "skip_messages is not read from Consul")
    else:
        expect(not init, f"unexpected init containers {list(init)}")
        expect(volumes["config"]["configMap"]["name"] == config_map["metadata"]["name"], "config volume")

    policy = one(docs, "NetworkPolicy")
    expect("Ingress" in policy["spec"]["policyTypes"], "NetworkPolicy does not isolate ingress")
    selector = policy["spec"]["podSelector"]["matchLabels"]
    pod_labels = spec["template"]["metadata"]["labels"]
    expect(all(pod_labels.get(k) == v for k, v in selector.items()), "NetworkPolicy does not select the pods")
    for rule in policy["spec"]["ingress"]:
        expect(rule.get("ports") == [{"protocol": "TCP", "port": 8080}], f"ingress rule opens more than the health port: {rule}")
    if not (eff["networkPolicy"]["probeSourceCIDRs"] or eff["networkPolicy"]["extraIngress"] or eff["metrics"]["prometheus"]["scrapers"]):
        expect(policy["spec"]["ingress"] == [], "default NetworkPolicy must allow no ingress")

    scaled = by_kind(docs, "ScaledObject")
    if eff["autoscaling"]["enabled"]:
        expect(len(scaled) == 1, "autoscaling enabled but no ScaledObject")
        expect(scaled[0]["spec"]["maxReplicaCount"] <= eff["kafka"]["partitions"], "maxReplicaCount above partitions")
        expect(scaled[0]["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"], "ScaledObject targets another Deployment")
    else:
        expect(not scaled, "ScaledObject rendered while autoscaling is off")


def helm_lint(values: dict[str, Any]) -> None:
    import helm_python as helm

    report = helm.lint(str(CHART), values, strict=True, namespace=NAMESPACE)
    problems = [m for m in report.get("messages", []) if m.get("severity", 0) >= 2] + list(report.get("errors") or [])
    expect(not problems, f"helm lint: {problems}")


def chart_suite() -> int:
    suite = Suite("deploy chart")
    import helm_python as helm

    print(f"helm engine: Helm SDK {helm.helm_sdk_version()} via libhelm_c {helm.helm_c_version()}")
    chart_yaml = load_yaml(CHART / "Chart.yaml")
    suite.run("Chart.yaml is chart version 0.0.2", lambda: expect(chart_yaml["version"] == "0.0.2", chart_yaml["version"]))
    suite.run("values.schema.json is a valid draft-07 schema", lambda: jsonschema.Draft7Validator.check_schema(schema()))

    combos: list[tuple[str, str | None]] = [(f, t) for f in FLAVORS for t in [None, *TENANTS]]
    for flavor, tenant in combos:
        label = f"{flavor}/{tenant or 'base'}"
        values = user_values(flavor, tenant)

        def check_schema(values: dict[str, Any] = values) -> None:
            errors = schema_errors(effective_values(values))
            expect(not errors, f"schema: {errors}")

        def check_lint(values: dict[str, Any] = values) -> None:
            helm_lint(values)

        def check_render(values: dict[str, Any] = values, flavor: str = flavor, tenant: str | None = tenant) -> None:
            docs = render(values)
            kinds = sorted(d["kind"] for d in docs)
            expect(kinds == ["ConfigMap", "Deployment", "NetworkPolicy", "ServiceAccount"], f"kinds {kinds}")
            validate_k8s(docs)
            assert_release(docs, flavor, tenant, values)

        suite.run(f"{label}: values match values.schema.json", check_schema)
        suite.run(f"{label}: helm lint --strict", check_lint)
        suite.run(f"{label}: helm template renders valid Kubernetes {'/'.join(KUBE_VERSIONS)} manifests with the promised properties", check_render)

    # Options that are off by default.
    # Each option on one flavor, the flavors taken in turn (any flavor renders the same way).
    def nth_flavor(n: int) -> str:
        return FLAVORS[n % len(FLAVORS)]

    variants: dict[str, tuple[str, str | None, dict[str, Any]]] = {
        "KEDA autoscaling on consumer lag": (
            nth_flavor(0), "prod", {"autoscaling": {"enabled": True, "minReplicaCount": 1, "maxReplicaCount": 4}},
        ),
        "Prometheus /metrics scraped through the NetworkPolicy": (
            nth_flavor(1), "staging",
            {"metrics": {"prometheus": {"enabled": True, "scrapers": [{"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}]}}},
        ),
        "probe source CIDRs, preStop sleep and egress isolation": (
            nth_flavor(2), "staging",
            {
                "networkPolicy": {"probeSourceCIDRs": ["10.0.0.0/16"], "egress": [{"to": [{"ipBlock": {"cidr": "10.1.0.0/16"}}]}]},
                "shutdown": {"preStopSleepSeconds": 5, "terminationGracePeriodSeconds": 60},
            },
        ),
        "consul-template without a Consul skip key": (nth_flavor(3), None, {"consulTemplate": {"enabled": True}}),
    }
    for name, (flavor, tenant, extra) in variants.items():
        values = user_values(flavor, tenant, extra)

        def check_variant(values: dict[str, Any] = values, flavor: str = flavor, tenant: str | None = tenant, name: str = name) -> None:
            errors = schema_errors(effective_values(values))
            expect(not errors, f"schema: {errors}")
            helm_lint(values)
            docs = render(values)
            # The preStop `sleep` action exists from Kubernetes 1.30 (the template refuses it
            # on older clusters).
            validate_k8s(docs, ["1.30.0", KUBE_VERSIONS[-1]] if name.startswith("probe") else None)
            assert_release(docs, flavor, tenant, values)
            if name.startswith("Prometheus"):
                pod = one(docs, "Deployment")["spec"]["template"]
                expect(pod["metadata"]["annotations"].get("prometheus.io/scrape") == "true", "no scrape annotation")
                ingress = one(docs, "NetworkPolicy")["spec"]["ingress"]
                expect(len(ingress) == 1 and "namespaceSelector" in ingress[0]["from"][0], f"scrape rule {ingress}")
            if name.startswith("probe"):
                policy = one(docs, "NetworkPolicy")["spec"]
                expect(policy["ingress"][0]["from"] == [{"ipBlock": {"cidr": "10.0.0.0/16"}}], "probe CIDR rule")
                expect(policy["policyTypes"] == ["Ingress", "Egress"], "egress not isolated")
                expect(policy["egress"][0]["ports"][0] == {"protocol": "UDP", "port": 53}, "DNS egress missing")
                container = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
                expect(container["lifecycle"]["preStop"] == {"sleep": {"seconds": 5}}, "preStop sleep missing")

        suite.run(f"variant: {name}", check_variant)

    # What must be refused, with the reason in the message.
    not_a_flavor = "no_such_flavor"
    expect(not_a_flavor not in FLAVORS, f"{not_a_flavor} is a flavor: pick another name for the refusal")
    refusals: dict[str, tuple[dict[str, Any], str]] = {
        "no flavor file": (user_values(None, "prod"), "flavor is empty: add -f values/flavors/<flavor>.yaml"),
        "a flavor with no values file in the chart": (
            user_values(None, "prod", {"flavor": not_a_flavor, "kafka": {"topic": "t"}}),
            f"flavor {not_a_flavor!r} has no values file values/flavors/{not_a_flavor}.yaml".replace("'", '"'),
        ),
        "KEDA maxReplicaCount above the partition count": (
            user_values(nth_flavor(0), "prod", {"autoscaling": {"enabled": True, "maxReplicaCount": 17}}),
            "autoscaling.maxReplicaCount (17) exceeds kafka.partitions (16)",
        ),
        "KEDA without a partition count": (
            user_values(nth_flavor(1), None, {"kafka": {"brokers": "b:9092"}, "autoscaling": {"enabled": True}}),
            "needs kafka.partitions",
        ),
        "replicaCount above the partition count": (
            user_values(nth_flavor(2), "gov", {"replicaCount": 9}),
            "replicaCount (9) exceeds kafka.partitions (8)",
        ),
        "grace period shorter than the drain": (
            user_values(nth_flavor(3), "staging", {"shutdown": {"terminationGracePeriodSeconds": 40}}),
            "must be >= preStopSleepSeconds + drainSeconds + commitMarginSeconds (45)",
        ),
    }
    for name, (values, message) in refusals.items():

        def check_refused(values: dict[str, Any] = values, message: str = message) -> None:
            error = render_error(values)
            expect(message in error, f"refused, but the message does not say {message!r}: {error}")

        suite.run(f"refuses: {name}", check_refused)

    schema_refusals: dict[str, dict[str, Any]] = {
        "a misspelt key (replicas)": {"replicas": 2},
        "maxUnavailable other than 0": {"strategy": {"maxUnavailable": 1}},
        "a malformed flavor name": {"flavor": "Jira-Prod"},
        "a malformed image digest": {"image": {"digest": "latest"}},
    }
    for name, bad in schema_refusals.items():

        def check_schema_refused(bad: dict[str, Any] = bad) -> None:
            import helm_python as helm

            values = user_values(nth_flavor(0), "prod", bad)
            expect(bool(schema_errors(effective_values(values))), "jsonschema accepted it")
            with helm.Chart.load(str(CHART)) as chart:
                try:
                    chart.validate_schema(values)
                except Exception:  # noqa: BLE001 - any Helm validation error is the expected refusal
                    return
            raise CheckFailed("Helm's schema validation accepted it")

        suite.run(f"schema refuses: {name}", check_schema_refused)

    return suite.finish()


# ---------------------------------------------------------------------- monitoring

DATADOG_METRIC = re.compile(r"\b(?:avg|sum|min|max|count|p\d{2,3}|pc?t?\d+):([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)\s*\{")
MONITOR_WINDOWS = {
    "high-filtering-rate": ("sum(last_15m)", 80),
    "consumer-lag": ("min(last_30m)", 10000),
    "high-error-rate": ("sum(last_10m)", 5),
    "crash-loop": ("change(max(last_15m),last_15m)", 5),
}


def read_list(path: Path) -> list[str]:
    lines = [line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line]


def dashboard_queries(node: Any) -> list[str]:
    """Every metric query string in a dashboard (classic `q` and formula `query`)."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("q", "query") and isinstance(value, str) and ":" in value and "{" in value:
                found.append(value)
            else:
                found.extend(dashboard_queries(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(dashboard_queries(item))
    return found


def unparsed_paths(obj: Any, path: str = "$") -> list[str]:
    """Where the Datadog API client could not map the JSON to its models (unknown widget
    type, bad enum value, wrong field type): it keeps such parts as `_unparsed`."""
    from datadog_api_client.model_utils import OpenApiModel

    out: list[str] = []
    if isinstance(obj, OpenApiModel):
        state = obj.__dict__
        if state.get("_unparsed"):
            out.append(path)
        for composed in state.get("_composed_instances") or []:
            out.extend(unparsed_paths(composed, path))
        for key, value in (state.get("_data_store") or {}).items():
            out.extend(unparsed_paths(value, f"{path}.{key}"))
    elif isinstance(obj, (list, tuple)):
        for n, value in enumerate(obj):
            out.extend(unparsed_paths(value, f"{path}[{n}]"))
    elif isinstance(obj, dict):
        for key, value in obj.items():
            out.extend(unparsed_paths(value, f"{path}.{key}"))
    return out


def datadog_model_check(path: Path, model: type) -> None:
    from datadog_api_client import ApiClient, Configuration

    client = ApiClient(Configuration())
    parsed = client.deserialize(path.read_text(encoding="utf-8"), (model,), True)
    bad = unparsed_paths(parsed)
    expect(not bad, f"{path.name}: not valid for the Datadog API model {model.__name__} at {sorted(set(bad))}")


def prometheus_metric_names(expr: str) -> set[str]:
    import promql_parser

    names: set[str] = set()

    def walk(node: Any) -> None:
        if node is None:
            return
        kind = type(node).__name__
        if kind == "VectorSelector":
            if node.name:
                names.add(node.name)
            return
        if kind == "MatrixSelector":
            walk(node.vector_selector)
            return
        for attr in ("expr", "lhs", "rhs", "param", "args"):
            child = getattr(node, attr, None)
            if isinstance(child, list):
                for c in child:
                    walk(c)
            elif child is not None:
                walk(child)

    walk(promql_parser.parse(expr))
    return names


def monitoring_suite() -> int:
    suite = Suite("deploy monitoring")
    emitted = read_list(MONITORING / "metrics-used.txt")
    external = read_list(MONITORING / "metrics-external.txt")
    used_datadog: set[str] = set()
    used_prometheus: set[str] = set()
    dashboard_path = MONITORING / "datadog" / "dashboard.json"
    monitor_paths = sorted((MONITORING / "datadog").glob("monitor-*.json"))

    def check_lists() -> None:
        expect(len(emitted) == len(set(emitted)), "metrics-used.txt has duplicates")
        expect(not set(emitted) & set(external), "a metric is listed as both emitted and external")

    suite.run("metrics-used.txt and metrics-external.txt are consistent", check_lists)

    def check_dashboard() -> None:
        dashboard = json.loads(dashboard_path.read_text(encoding="utf-8"))
        datadog_model_check(dashboard_path, __import__("datadog_api_client.v1.model.dashboard", fromlist=["Dashboard"]).Dashboard)
        queries = dashboard_queries(dashboard)
        expect(len(queries) >= 20, f"only {len(queries)} queries")
        for q in queries:
            used_datadog.update(DATADOG_METRIC.findall(q))
        text = json.dumps(dashboard)
        for needle, topic in (
            ("changelog_processed", "throughput"),
            ("by {flavor,changelog_type}", "throughput by flavor and changelog type"),
            ("p50:case.case_third_party_reader.end_to_end_latency", "latency p50"),
            ("p95:case.case_third_party_reader.end_to_end_latency", "latency p95"),
            ("p99:case.case_third_party_reader.end_to_end_latency", "latency p99"),
            ("by {reason}", "filter-reason breakdown"),
            ('"sunburst"', "filter-reason pie"),
            ("decoding_failed", "errors"),
            ("dd.case_third_party_reader.retries", "retries"),
            ("out_of_order_event", "out-of-order events"),
            ("consumer_lag", "consumer lag"),
        ):
            expect(needle in text, f"dashboard lacks {topic} ({needle})")

    suite.run("dashboard.json: valid Datadog dashboard covering every required panel", check_dashboard)

    def check_monitors() -> None:
        from datadog_api_client.v1.model.monitor import Monitor

        names = {p.stem.removeprefix("monitor-") for p in monitor_paths}
        expect(names == set(MONITOR_WINDOWS), f"monitors {sorted(names)} != {sorted(MONITOR_WINDOWS)}")
        for path in monitor_paths:
            datadog_model_check(path, Monitor)
            monitor = json.loads(path.read_text(encoding="utf-8"))
            window, threshold = MONITOR_WINDOWS[path.stem.removeprefix("monitor-")]
            query = monitor["query"]
            expect(monitor["type"] == "query alert", f"{path.name}: type {monitor['type']}")
            expect(query.startswith(window + ":"), f"{path.name}: window is not {window}")
            match = re.search(r"\s>\s*([0-9.]+)\s*$", query)
            expect(match is not None, f"{path.name}: query has no '> threshold'")
            assert match is not None
            # The API refuses a monitor whose query threshold differs from its critical one.
            expect(float(match.group(1)) == threshold == monitor["options"]["thresholds"]["critical"],
                   f"{path.name}: threshold {match.group(1)} / critical {monitor['options']['thresholds']['critical']} / spec {threshold}")
            expect("service:case-third-party-reader" in monitor["tags"], f"{path.name}: not tagged with the service")
            if path.stem == "monitor-consumer-lag":
                # The lag gauge is the reader's own: silence means the reader is down.
                expect(monitor["options"].get("notify_no_data") is True, f"{path.name}: no no-data alert")
                expect(monitor["options"].get("no_data_timeframe") == 30, f"{path.name}: no-data timeframe is not 30 min")
            found = set(DATADOG_METRIC.findall(query))
            expect(bool(found), f"{path.name}: no metric found in the query")
            used_datadog.update(found)

    suite.run("monitor-*.json: the four monitors, valid, with the specified windows and thresholds; the lag monitor alerts on no data", check_monitors)

    rules_path = MONITORING / "prometheus" / "rules.yaml"

    def check_rules() -> None:
        rules = load_yaml(rules_path)
        alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
        records = {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
        expect(len(alerts) == 5, f"{len(alerts)} alerts")
        expected_for = {
            "CaseThirdPartyReaderHighFilteringRate": ("15m", "> 80"),
            "CaseThirdPartyReaderConsumerLag": ("30m", "> 10000"),
            "CaseThirdPartyReaderLagSilent": ("30m", "unless count by (namespace, flavor) (dd_case_kafka_consumer_consumer_lag)"),
            "CaseThirdPartyReaderHighErrorRate": ("10m", "> 5"),
            "CaseThirdPartyReaderCrashLooping": (None, "[15m]) > 5"),
        }
        for rule in alerts:
            expect(rule["alert"] in expected_for, f"unexpected alert {rule['alert']}")
            duration, needle = expected_for[rule["alert"]]
            expect(rule.get("for") == duration, f"{rule['alert']}: for {rule.get('for')} != {duration}")
            expect(needle in " ".join(rule["expr"].split()), f"{rule['alert']}: expression lacks {needle!r}")
        for group in rules["groups"]:
            for rule in group["rules"]:
                names = prometheus_metric_names(rule["expr"])
                used_prometheus.update(n for n in names if n not in records)

    suite.run("prometheus/rules.yaml: five alerts with the specified windows; every expression parses as PromQL", check_rules)

    def check_names() -> None:
        known = set(emitted) | set(external)
        unknown = sorted(used_datadog - known)
        expect(not unknown, f"Datadog queries use metrics in neither list: {unknown}")
        prometheus_known = {n.replace(".", "_") for n in emitted} | set(external)
        unknown = sorted(used_prometheus - prometheus_known)
        expect(not unknown, f"Prometheus rules use metrics in neither list: {unknown}")
        all_used = used_datadog | {n for n in emitted if n.replace(".", "_") in used_prometheus}
        unused = sorted(set(emitted) - all_used)
        expect(not unused, f"metrics-used.txt lists metrics nothing uses: {unused}")
        unused_external = sorted(set(external) - used_datadog - used_prometheus)
        expect(not unused_external, f"metrics-external.txt lists metrics nothing uses: {unused_external}")

    suite.run("every metric named by the dashboard, monitors and rules is listed (emitted or external), none stale", check_names)

    def check_written_once_over_flavor() -> None:
        # A new flavor is monitored with no edit: nothing selects or lists a flavor by name
        # (the rules' unit tests use flavors as sample data).
        found = []
        for path in [dashboard_path, *monitor_paths, rules_path]:
            text = path.read_text(encoding="utf-8")
            for flavor in FLAVORS:
                for selector in (f"flavor:{flavor}", f'flavor="{flavor}"', f'flavor=\\"{flavor}\\"'):
                    if selector in text:
                        found.append(f"{path.name}: {selector}")
        expect(not found, f"monitoring selects flavors by name: {found}")
        dashboard = json.loads(dashboard_path.read_text(encoding="utf-8"))
        variable = next((v for v in dashboard["template_variables"] if v["name"] == "flavor"), None)
        expect(variable is not None, "dashboard has no flavor template variable")
        assert variable is not None
        expect(not variable.get("available_values"), f"the flavor template variable lists flavors: {variable['available_values']}")
        for path in monitor_paths:
            query = json.loads(path.read_text(encoding="utf-8"))["query"]
            # Monitors on the readers' own metrics alert per flavor; platform metrics (restarts)
            # group by their own keys.
            if set(DATADOG_METRIC.findall(query)) & set(emitted):
                expect("flavor}" in query or "flavor," in query, f"{path.name}: its query is not grouped by flavor")

    suite.run("monitoring is written once over the flavor tag (no flavor named, grouped by flavor)", check_written_once_over_flavor)
    return suite.finish()


# ------------------------------------------------------------------------ ini keys

CONFIG_KEY_ROW = re.compile(r"^\|\s*`([A-Za-z0-9_.-]+)`\s*\|")


def reader_config_keys(binary: Path) -> set[str]:
    """The keys `reader-<flavor> config-keys` documents (its Markdown table)."""
    return set(reader_config_env(binary))


def reader_config_env(binary: Path) -> dict[str, str]:
    """Key → environment variable, as `reader-<flavor> config-keys` documents them."""
    import subprocess

    expect(binary.is_file(), f"{binary} not found: build it first (cargo build -p {binary.name})")
    done = subprocess.run([str(binary), "config-keys"], capture_output=True, text=True, timeout=60, check=False)
    expect(done.returncode == 0, f"{binary.name} config-keys exited {done.returncode}: {done.stderr.strip()}")
    rows: dict[str, str] = {}
    for line in done.stdout.splitlines():
        if m := CONFIG_KEY_ROW.match(line):
            cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
            rows[m.group(1)] = cells[2] if len(cells) > 2 else ""
    expect(len(rows) >= 10, f"{binary.name} config-keys listed only {sorted(rows)}")
    return rows


def ini_keys_suite(bin_dir: Path) -> int:
    """Every key the chart writes into the ini is one the reader knows (it only warns on
    unknown keys at run time, so a typo would silently fall back to a default)."""
    suite = Suite("deploy ini keys")
    for flavor in FLAVORS:
        for tenant in [None, *TENANTS]:
            label = f"{flavor}/{tenant or 'base'}"

            def check(flavor: str = flavor, tenant: str | None = tenant) -> None:
                known = reader_config_keys(bin_dir / f"reader-{flavor}")
                docs = render(user_values(flavor, tenant))
                ini = configparser.ConfigParser(interpolation=None)
                ini.read_string(one(docs, "ConfigMap")["data"]["case-third-party-reader.ini"])
                written = {f"{section}.{key}" for section in ini.sections() for key in ini[section]}
                unknown = sorted(written - known)
                expect(not unknown, f"the chart writes keys reader-{flavor} does not know: {unknown}")

            suite.run(f"{label}: every ini key is known to reader-{flavor}", check)

            def check_env(flavor: str = flavor, tenant: str | None = tenant) -> None:
                known = set(reader_config_env(bin_dir / f"reader-{flavor}").values())
                values = user_values(flavor, tenant, {"caseApi": {"authTokenSecret": {"name": "case-api-token"}}})
                docs = render(values)
                pod = one(docs, "Deployment")["spec"]["template"]["spec"]
                container = next(c for c in pod["containers"] if c["name"] == "case-third-party-reader")
                env = {e["name"]: e for e in container.get("env", [])}
                unknown = sorted(n for n in env if n.startswith("CASE_READER_") and n not in known)
                expect(not unknown, f"the chart sets variables reader-{flavor} does not read: {unknown}")
                token_file = env.get("CASE_READER_CASE_API_AUTH_TOKEN_FILE", {}).get("value", "")
                mounts = {m["name"]: m for m in container["volumeMounts"]}
                volumes = {v["name"]: v for v in pod["volumes"]}
                mount = mounts.get("case-api-token", {})
                expect(
                    token_file.startswith(mount.get("mountPath", "<none>") + "/") and "subPath" not in mount,
                    f"the token file {token_file!r} is not on the secret's directory mount {mount} (a subPath mount never sees rotations)",
                )
                expect(volumes["case-api-token"]["secret"]["secretName"] == "case-api-token", "token volume")

            suite.run(f"{label}: every CASE_READER_* variable is a key of reader-{flavor}; the token is a mounted file", check_env)
    return suite.finish()


def main(argv: list[str]) -> int:
    suites = {"flavors": flavors_suite, "chart": chart_suite, "monitoring": monitoring_suite}
    if len(argv) == 3 and argv[1] == "ini-keys":
        return ini_keys_suite(Path(argv[2]))
    if len(argv) != 2 or argv[1] not in suites:
        print(f"usage: {argv[0]} {{{'|'.join(suites)}}} | ini-keys READER_BIN_DIR", file=sys.stderr)
        return 2
    return suites[argv[1]]()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
