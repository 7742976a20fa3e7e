"""Form decoding (``a[b][0]=x`` -> nested dicts/lists), validation helpers, Stripe errors."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

JSON = dict[str, Any]

_KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT_RE = re.compile(r"\[([^\[\]]*)\]")
# Containers whose keys are user data: never turn ``metadata[0]=x`` into a list.
_FREEFORM = frozenset({"metadata"})


class StripeError(Exception):
    """An error answered in Stripe's JSON shape: ``{"error": {type, code, message, param}}``.

    ``stored`` says whether an idempotent request may save this result. Stripe only saves
    results once an endpoint began executing: parameter validation failures are not saved.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        stored: bool = True,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.stored = stored

    def body(self) -> JSON:
        return error_body(self.message, type=self.type, code=self.code, param=self.param)


def error_body(
    message: str,
    *,
    type: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
    request_log_url: str | None = None,
) -> JSON:
    err: JSON = {}
    if code:
        err["code"] = code
        err["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
    err["message"] = message
    if param:
        err["param"] = param
    if request_log_url:
        err["request_log_url"] = request_log_url
    err["type"] = type
    return {"error": err}


def encode(payload: Any) -> bytes:
    """A JSON response body, pretty-printed as Stripe sends them."""
    return (json.dumps(payload, indent=2) + "\n").encode("utf-8")


def invalid(message: str, param: str | None = None, code: str | None = None) -> StripeError:
    """A parameter validation error (400, not saved for idempotency)."""
    return StripeError(400, message, param=param, code=code, stored=False)


def parse_pairs(pairs: Iterable[tuple[str, str]]) -> JSON:
    """Decode stripe-python's form encoding into nested dicts and lists."""
    root: JSON = {}
    for raw_key, value in pairs:
        match = _KEY_RE.match(raw_key)
        if not match:
            raise invalid(f"Invalid parameter name: {raw_key}", raw_key)
        parts = [match.group(1), *_SEGMENT_RE.findall(match.group(2))]
        node: JSON = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            key = str(len(node)) if part == "" else part
            if last:
                if isinstance(node.get(key), dict):
                    raise invalid(f"Invalid hash: {raw_key}", raw_key)
                node[key] = value
            else:
                child = node.setdefault(key, {})
                if not isinstance(child, dict):
                    if child == "":
                        child = node[key] = {}
                    else:
                        raise invalid(f"Invalid hash: {raw_key}", raw_key)
                node = child
    return {key: _listify(value, key) for key, value in root.items()}


def _listify(value: Any, name: str | None) -> Any:
    if not isinstance(value, dict):
        return value
    converted = {k: _listify(v, k) for k, v in value.items()}
    if converted and name not in _FREEFORM and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def check_unknown(params: Mapping[str, Any], allowed: Iterable[str], prefix: str = "") -> None:
    allowed_set = set(allowed)
    for key in params:
        if key not in allowed_set:
            name = f"{prefix}[{key}]" if prefix else key
            raise invalid(f"Received unknown parameter: {name}", name, "parameter_unknown")


def require(params: Mapping[str, Any], name: str) -> Any:
    value = params.get(name)
    if value is None or value == "":
        raise invalid(f"Missing required param: {name}.", name, "parameter_missing")
    return value


def get_str(params: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    value = require(params, name) if required else params.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(f"Invalid string: {value!r}", name, "parameter_invalid_string")
    return value


def get_int(
    params: Mapping[str, Any],
    name: str,
    *,
    required: bool = False,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    value = require(params, name) if required else params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        number = int(value.strip())
    else:
        raise invalid(f"Invalid integer: {value}", name, "parameter_invalid_integer")
    if minimum is not None and number < minimum:
        raise invalid(
            f"This value must be greater than or equal to {minimum}.",
            name,
            "parameter_invalid_integer",
        )
    if maximum is not None and number > maximum:
        raise invalid(
            f"This value must be less than or equal to {maximum}.",
            name,
            "parameter_invalid_integer",
        )
    return number


def get_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "True", "1"):
        return True
    if value in ("false", "False", "0"):
        return False
    raise invalid(f"Invalid boolean: {value}", name)


def get_enum(
    params: Mapping[str, Any], name: str, choices: Iterable[str], label: str
) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    options = list(choices)
    if value not in options:
        raise invalid(
            f"Invalid {label}: must be one of {', '.join(options[:-1])} or {options[-1]}",
            label,
        )
    return str(value)


def get_dict(params: Mapping[str, Any], name: str) -> JSON:
    value = params.get(name)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid(f"Invalid hash: {name}", name, "parameter_invalid_hash")
    return value


def get_currency(params: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    value = get_str(params, name, required=required)
    if value is None:
        return None
    if not re.fullmatch(r"[A-Za-z]{3}", value):
        raise invalid(f"Invalid currency: {value.lower()}.", name)
    return value.lower()


def merge_metadata(current: Mapping[str, str], params: Mapping[str, Any]) -> dict[str, str]:
    """Stripe semantics: keys merge, ``metadata[k]=`` deletes k, ``metadata=`` clears all."""
    if "metadata" not in params:
        return dict(current)
    raw = params["metadata"]
    if raw == "":
        return {}
    if not isinstance(raw, dict):
        raise invalid("Invalid hash", "metadata", "parameter_invalid_hash")
    merged = dict(current)
    for key, value in raw.items():
        if not isinstance(value, str):
            raise invalid(
                f"Invalid value for metadata[{key}]: metadata values must be strings.",
                f"metadata[{key}]",
            )
        if len(key) > 40:
            raise invalid(
                "Metadata keys can have a maximum length of 40 characters.", f"metadata[{key}]"
            )
        if len(value) > 500:
            raise invalid(
                "Metadata values can have a maximum length of 500 characters.", f"metadata[{key}]"
            )
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > 50:
        raise invalid(
            "You can specify up to 50 keys, with key names up to 40 characters long.", "metadata"
        )
    return merged


def get_expand(params: Mapping[str, Any]) -> list[str]:
    value = params.get("expand")
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise invalid("Invalid array", "expand", "parameter_invalid_array")
