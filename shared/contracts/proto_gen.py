"""Generate `proto/` from the contract models: one JSON Schema per model and an AsyncAPI document.

`python -m shared.contracts.proto_gen [out_dir]` (what `make proto` runs). The output is
deterministic, so the drift test can regenerate into a temp dir and compare byte for byte.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from shared.contracts import ALL_MODELS, EVENT_CHANNELS, RPC_CHANNELS, subjects

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

    for address, model in EVENT_CHANNELS.items():
        key = address.replace(".", "_").replace("{", "").replace("}", "")
        channels[key] = {
            "address": "{namespace}." + address,
            "description": f"JetStream stream {subjects.EVENTS_STREAM if not address.startswith(subjects.DEAD_LETTER) else subjects.DEAD_LETTER_STREAM}",
            "messages": {model.__name__: message_ref(model)},
        }
        operations[f"publish_{key}"] = {"action": "send", "channel": {"$ref": f"#/channels/{key}"}}
    for address, (request, reply) in RPC_CHANNELS.items():
        key = address.replace(".", "_").replace("{", "").replace("}", "")
        channels[key] = {
            "address": "{namespace}." + address,
            "description": "core NATS request/reply",
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
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO_ROOT / "proto")
