"""Generate `deploy/nats/permissions.conf` from the channel declarations.

Each service's NATS user may publish what it publishes or asks, and subscribe to what it consumes
or answers, as `shared.contracts.channels` declares it — nothing is written by hand, so a new
channel or a new consumer changes the permissions with it (`make proto`; a test fails on drift).
"""

from __future__ import annotations

from typing import Any

from shared.contracts.channels import EVENT_CHANNELS, RPC_CHANNELS, SERVICES, RpcChannel

PERMISSIONS_FILE = "deploy/nats/permissions.conf"
# The file is shipped for the default BUS_NAMESPACE; a deployment with another one edits the prefix.
NAMESPACE = "trueup"
_OWN = "service"  # the placeholder that, for an answerer, is its own name

_HEADER = f"""\
# GENERATED from shared/contracts/channels.py by `make proto`: do not edit by hand (a test
# fails when this file and the declarations differ).
#
# Per-service users and what each may publish/subscribe. Included by nats-server.conf and by
# every node of the cluster example. Subjects carry the deployment's BUS_NAMESPACE prefix
# ("{NAMESPACE}" by default; change it here too if you change it in the services' environment).
#
# Each user may publish the facts it publishes and the questions it asks, and subscribe to the
# facts it consumes and the questions it answers; every service may raise alerts and dead-letter.
# Replies go to the requester's _INBOX, so responders use allow_responses rather than a blanket
# publish grant on _INBOX.>. Every service also uses the JetStream API and acks ($JS.API.>,
# $JS.ACK.>) and receives replies on _INBOX.>.
#
# Passwords come from the environment (NATS_PASSWORD_<SERVICE>); the server refuses to start
# with an unset variable, so there is no default password.

JS_API = "$JS.API.>"
JS_ACK = "$JS.ACK.>"
"""


def _answered(rpc: RpcChannel[Any, Any], service: str) -> str:
    """An answerer's subject: its own where the channel names the service, else all of it."""
    return rpc.wildcard(**({_OWN: service} if _OWN in rpc.placeholders else {}))


def grants(service: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(publish, subscribe) for one service: relative subject and why, in declaration order."""
    publish: list[tuple[str, str]] = []
    subscribe: list[tuple[str, str]] = []
    for channel in EVENT_CHANNELS:
        if service in channel.publishers:
            publish.append((channel.wildcard(), f"publishes: {channel.description}"))
        if service in channel.consumers:
            subscribe.append((channel.wildcard(), f"consumes: {channel.description}"))
    for rpc in RPC_CHANNELS:
        if service in rpc.askers:
            publish.append((rpc.wildcard(), f"asks: {rpc.description}"))
        if service in rpc.answerers:
            subscribe.append((_answered(rpc, service), f"answers: {rpc.description}"))
            if _OWN in rpc.placeholders and service not in rpc.askers:
                # The container healthcheck asks the service with the service's own credentials.
                publish.append((_answered(rpc, service), "asks its own (container healthcheck)"))
    return publish, subscribe


def _allow(entries: list[tuple[str, str]], extra: list[tuple[str, str]]) -> str:
    lines = [f'"{NAMESPACE}.{subject}"' for subject, _ in entries] + [value for value, _ in extra]
    width = max(len(line) for line in lines) + 2
    reasons = [why for _, why in entries] + [why for _, why in extra]
    body = "\n".join(f"            {line:<{width}}# {why}" for line, why in zip(lines, reasons, strict=True))
    return f"allow: [\n{body}\n          ]"


def render_permissions() -> str:
    users = []
    for service in SERVICES:
        publish, subscribe = grants(service)
        env = f"NATS_PASSWORD_{service.upper().replace('-', '_')}"
        users.append(f"""\
    {{
      user: {service}
      password: ${env}
      permissions: {{
        publish: {{
          {_allow(publish, [("$JS_API", "JetStream API"), ("$JS_ACK", "acks of its consumers")])}
        }}
        subscribe: {{
          {_allow(subscribe, [('"_INBOX.>"', "replies to its questions, its pull consumers' batches")])}
        }}
        allow_responses: true
      }}
    }}""")
    return _HEADER + "\nauthorization {\n  users = [\n" + "\n".join(users) + "\n  ]\n}\n"
