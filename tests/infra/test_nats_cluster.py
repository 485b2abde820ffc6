"""deploy/nats cluster files: three real nodes from the shipped configs, and the bus's streams are
R3 there when the admin step runs with BUS_STREAM_REPLICAS=3 — created so, or scaled up from R1 at
the next run."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import nats
import pytest

from shared.bus import BusConfig
from shared.bus.provision import provision_bus
from shared.contracts.channels import ADMIN, DEAD_LETTER_STREAM, EVENTS_STREAM, inbox_prefix, stream_name
from shared.contracts.permissions_gen import NAMESPACE, USERS, password_variable
from shared.devstack import embedded

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "nats"
PASSWORD = "pw-cluster"


def _node_conf(node: int, store: Path, route_ports: list[int]) -> str:
    """The shipped node file with what only a real host has swapped out: TLS certificates (routes
    run in the clear on loopback here), host names and fixed ports."""
    conf = (DEPLOY / f"cluster-node-{node}.conf").read_text()
    conf = re.sub(r"\n  tls \{.*?\n  \}", "", conf, flags=re.S)
    conf = conf.replace("/data/jetstream", str(store / f"js-{node}"))
    conf = conf.replace("listen: 0.0.0.0:6222", f"listen: 127.0.0.1:{route_ports[node - 1]}")
    for other in (1, 2, 3):
        conf = conf.replace(f"nats-route://nats-{other}:6222", f"nats-route://127.0.0.1:{route_ports[other - 1]}")
    return conf


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = tmp_path_factory.mktemp("nats-cluster")
    (store / "permissions.conf").write_text((DEPLOY / "permissions.conf").read_text())
    env = {**os.environ, **{password_variable(user): PASSWORD for user in USERS}}
    route_ports = [embedded.free_port() for _ in range(3)]
    client_ports = [embedded.free_port() for _ in range(3)]
    procs = []
    try:
        for node in (1, 2, 3):
            path = store / f"node-{node}.conf"
            path.write_text(_node_conf(node, store, route_ports))
            procs.append(subprocess.Popen(
                [str(embedded.nats_server_binary()), "-c", str(path), "-a", "127.0.0.1",
                 "-p", str(client_ports[node - 1]), "-m", str(embedded.free_port())],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))
        for port, proc in zip(client_ports, procs, strict=True):
            embedded._wait_nats_ready(port, proc, store / "none.log", 15)
        yield f"nats://{ADMIN}:{PASSWORD}@127.0.0.1:{client_ports[0]}"
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(10)


async def _provision_when_cluster_ready(admin_url: str, namespace: str, replicas: int, timeout: float = 30.0) -> None:
    """A fresh cluster elects its JetStream leader a few seconds after the nodes answer."""
    config = replace(BusConfig.defaults(), stream_replicas=replicas)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            await provision_bus(admin_url, namespace, config)
            return
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


async def test_streams_are_r3_on_the_cluster_and_an_r1_stream_is_scaled_up(cluster: str) -> None:
    namespace = NAMESPACE  # the shipped permissions are for it (a fresh cluster per module)
    await _provision_when_cluster_ready(cluster, namespace, replicas=1)
    admin = await nats.connect(cluster, inbox_prefix=inbox_prefix(namespace, ADMIN))
    try:
        jetstream = admin.jetstream()
        info = await jetstream.stream_info(stream_name(namespace, EVENTS_STREAM))
        assert info.config.num_replicas == 1

        await _provision_when_cluster_ready(cluster, namespace, replicas=3)
        for stream in (EVENTS_STREAM, DEAD_LETTER_STREAM):
            info = await jetstream.stream_info(stream_name(namespace, stream))
            assert info.config.num_replicas == 3, stream
            # Scaling up copies the stream to the other two nodes in the background.
            deadline = asyncio.get_running_loop().time() + 20
            while len(info.cluster.replicas or []) < 2 and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.25)
                info = await jetstream.stream_info(stream_name(namespace, stream))
            assert {info.cluster.leader, *(peer.name for peer in info.cluster.replicas)} == {
                "trueup-nats-1", "trueup-nats-2", "trueup-nats-3"}, stream
    finally:
        await admin.close()
