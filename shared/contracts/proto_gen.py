"""Generate `proto/` from the contract models and channels: one JSON Schema per model and an
AsyncAPI document; and, from the same channels, `deploy/nats/permissions.conf`.

`python -m shared.contracts.proto_gen` (what `make proto` runs) writes both. The output is
deterministic, so the drift tests compare it byte for byte with the committed files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared.contracts import ALL_MODELS
from shared.contracts.channels import EVENT_CHANNELS, RPC_CHANNELS
from shared.contracts.permissions_gen import PERMISSIONS_FILE, render_permissions

REPO_ROOT = Path(__file__).resolve().parents[2]


def _dump(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def json_schemas() -> dict[str, dict[str, Any]]:
    return {model.__name__: model.model_json_schema(ref_template="#/components/schemas/{model}") for model in ALL_MODELS}


def asyncapi_document() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for name, schema in json_schemas().items():
        for def_name, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(def_name, definition)
        schemas[name] = schema
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}

    def message_ref(model: type) -> dict[str, str]:
        messages[model.__name__] = {"payload": {"$ref": f"#/components/schemas/{model.__name__}"}}
        return {"$ref": f"#/components/messages/{model.__name__}"}

    for channel in EVENT_CHANNELS:
        key = _key(channel.pattern)
        channels[key] = {
            "address": "{namespace}." + channel.pattern,
            "description": f"{channel.description}. JetStream stream {channel.stream.name}; "
            f"published by {_names(channel.publishers)}; consumed by {_names(channel.consumers)}",
            "messages": {channel.model.__name__: message_ref(channel.model)},
        }
        operations[f"publish_{key}"] = {"action": "send", "channel": {"$ref": f"#/channels/{key}"}}
    for rpc in RPC_CHANNELS:
        key = _key(rpc.pattern)
        request, reply = rpc.request, rpc.reply
        channels[key] = {
            "address": "{namespace}." + rpc.pattern,
            "description": f"{rpc.description}. Core NATS request/reply; answered by {_names(rpc.answerers)}; "
            f"asked by {_names(rpc.askers)}",
            "messages": {request.__name__: message_ref(request), reply.__name__: message_ref(reply)},
        }
        operations[f"request_{key}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{key}"},
            "messages": [{"$ref": f"#/channels/{key}/messages/{request.__name__}"}],
            "reply": {"messages": [{"$ref": f"#/channels/{key}/messages/{reply.__name__}"}]},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "trueup bus",
            "version": "1",
            "description": "Events (JetStream) and questions (request/reply) between trueup services. "
            "Generated from shared/contracts; do not edit by hand.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def _key(pattern: str) -> str:
    return pattern.replace(".", "_").replace("{", "").replace("}", "")


def _names(services: tuple[str, ...]) -> str:
    return ", ".join(services) or "no service (kept for an operator)"


def render() -> dict[str, str]:
    """Relative path → file content for everything under proto/."""
    files = {f"jsonschema/{name}.json": _dump(schema) for name, schema in json_schemas().items()}
    files["asyncapi.json"] = _dump(asyncapi_document())
    return files


def write(out_dir: Path) -> None:
    for old in out_dir.glob("jsonschema/*.json"):
        old.unlink()
    for relative, content in render().items():
        path = out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


if __name__ == "__main__":
    write(REPO_ROOT / "proto")
    (REPO_ROOT / PERMISSIONS_FILE).write_text(render_permissions())
