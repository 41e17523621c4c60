"""The deployment files trust X-Forwarded-For from their own proxy only (read, not applied)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_compose_trusts_exactly_its_nginx() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    gateway, nginx = compose["services"]["gateway"], compose["services"]["nginx"]
    assert "--no-proxy-headers" in gateway["command"] and "--proxy-headers" not in gateway["command"]
    assert "--forwarded-allow-ips" not in gateway["command"]
    trusted = gateway["environment"]["SORTLINE_TRUSTED_PROXIES"]
    nginx_ip = nginx["networks"]["default"]["ipv4_address"]
    assert trusted == nginx_ip
    subnet = compose["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(nginx_ip) in ipaddress.ip_network(subnet)
    # The rest of the environment is still the shared one.
    assert gateway["environment"]["SORTLINE_ENV"] == "production"


def test_kubernetes_gateway_trusts_no_one_but_the_ingress() -> None:
    docs: list[dict[str, Any]] = [d for d in yaml.safe_load_all((DEPLOY / "k8s" / "sortline.yaml").read_text()) if d]
    text = (DEPLOY / "k8s" / "sortline.yaml").read_text()
    assert '"*"' not in text
    config = next(d for d in docs if d["kind"] == "ConfigMap")
    trusted = config["data"]["SORTLINE_TRUSTED_PROXIES"]
    assert "*" not in trusted and ipaddress.ip_network(trusted)
    gateway = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "sortline-gateway")
    command = gateway["spec"]["template"]["spec"]["containers"][0]["command"]
    assert "--no-proxy-headers" in command and "--forwarded-allow-ips" not in command
    policy = next(d for d in docs if d["kind"] == "NetworkPolicy")
    assert policy["spec"]["podSelector"]["matchLabels"] == {"app": "sortline-gateway"}
