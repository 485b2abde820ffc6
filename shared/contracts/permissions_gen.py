"""Generate the NATS users and their permissions from the channel declarations.

Each service's user may publish what it publishes or asks, subscribe to what it consumes or
answers, use the JetStream API only for its own durable consumers (look one up, pull from it,
ack its messages) and receive replies only under its own inbox prefix, as
`shared.contracts.channels` declares it. Streams and consumers are created by the `admin` user
(`python -m shared.bus.provision`), which may do nothing else. Nothing is written by hand: a new
channel or consumer changes the permissions with it (`make proto`; a test fails on drift).

`deploy/nats/permissions.conf` is rendered for the default namespace. `render_permissions("*")`
allows any namespace (one token) with the same rules: the test server, where every test session
and many tests use their own namespace.
"""

from __future__ import annotations

from typing import Any

from shared.contracts.channels import (
    ADMIN,
    EVENT_CHANNELS,
    MAX_REPLY_PARTS,
    RPC_CHANNELS,
    SERVICES,
    RpcChannel,
    inbox_prefix,
    stream_name,
)

PERMISSIONS_FILE = "deploy/nats/permissions.conf"
# The shipped file is for the default BUS_NAMESPACE; `render_permissions(<ns>)` renders another.
NAMESPACE = "trueup"
USERS = (*SERVICES, ADMIN)
_OWN = "service"  # the placeholder that, for an answerer, is its own name

_HEADER = """\
# GENERATED from shared/contracts/channels.py by `make proto`: do not edit by hand (a test
# fails when this file and the declarations differ).
#
# Per-service users for BUS_NAMESPACE "{namespace}", included by nats-server.conf and every node
# of the cluster example. Each service may publish the facts it publishes and the questions it
# asks, subscribe to the facts it consumes and the questions it answers, answer requests it
# received (allow_responses), use the JetStream API only for its own durable consumers, and
# receive replies only under its own inbox prefix (_INBOX.<namespace>.<service>). Streams and
# consumers are created by the admin user (`python -m shared.bus.provision`), which may use the
# JetStream API and nothing else.
#
# Passwords come from the environment (NATS_PASSWORD_<USER>); the server refuses to start with an
# unset variable, so there is no default password.
"""


def password_variable(user: str) -> str:
    return f"NATS_PASSWORD_{user.upper().replace('-', '_')}"


def _answered(rpc: RpcChannel[Any, Any], service: str) -> str:
    """An answerer's subject: its own where the channel names the service, else all of it."""
    return rpc.wildcard(**({_OWN: service} if _OWN in rpc.placeholders else {}))


def grants(service: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(publish, subscribe) channel subjects for one service: relative subject and why, in declaration order."""
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


def jetstream_grants(namespace: str, service: str) -> list[tuple[str, str]]:
    """The JetStream API subjects a service may publish: only for its own durable consumers."""
    granted: list[tuple[str, str]] = []
    for channel in EVENT_CHANNELS:
        if service in channel.consumers:
            stream, durable = stream_name(namespace, channel.stream), channel.durable(service)
            granted += [
                (f'"$JS.API.CONSUMER.INFO.{stream}.{durable}"', f"binds to its consumer {durable}"),
                (f'"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"', f"pulls from {durable}"),
                (f'"$JS.ACK.{stream}.{durable}.>"', f"acks what {durable} delivered"),
            ]
    return granted


def _allow(entries: list[tuple[str, str]]) -> str:
    width = max(len(line) for line, _ in entries) + 2
    body = "\n".join(f"            {line:<{width}}# {why}" for line, why in entries)
    return f"allow: [\n{body}\n          ]"


def user_block(user: str, publish: list[tuple[str, str]], subscribe: list[tuple[str, str]], *,
               responds: bool = False) -> str:
    """One user: subjects (quoted, or a variable) and why; its password from NATS_PASSWORD_<USER>."""
    responses = f"\n        allow_responses: {{max: {MAX_REPLY_PARTS}}}" if responds else ""
    return f"""\
    {{
      user: {user}
      password: ${password_variable(user)}
      permissions: {{
        publish: {{
          {_allow(publish)}
        }}
        subscribe: {{
          {_allow(subscribe)}
        }}{responses}
      }}
    }}"""


def user_blocks(namespace: str = NAMESPACE) -> list[str]:
    users = []
    for service in SERVICES:
        publish, subscribe = grants(service)
        inbox = (f'"{inbox_prefix(namespace, service)}.>"', "replies to its questions, its consumers' batches")
        users.append(user_block(
            service,
            [(f'"{namespace}.{subject}"', why) for subject, why in publish] + jetstream_grants(namespace, service),
            [(f'"{namespace}.{subject}"', why) for subject, why in subscribe] + [inbox],
            responds=True,
        ))
    users.append(user_block(
        ADMIN,
        [('"$JS.API.>"', "creates and updates streams and consumers")],
        [(f'"{inbox_prefix(namespace, ADMIN)}.>"', "the JetStream API's answers")],
    ))
    return users


def authorization(users: list[str]) -> str:
    return "authorization {\n  users = [\n" + "\n".join(users) + "\n  ]\n}\n"


def render_permissions(namespace: str = NAMESPACE) -> str:
    return _HEADER.format(namespace=namespace) + "\n" + authorization(user_blocks(namespace))
