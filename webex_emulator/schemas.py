"""The two reference schemas, loaded once from package data, and the checks built on them.

- `card_errors`: an Adaptive Card against Microsoft's Adaptive Cards 1.3 JSON schema (draft-06).
- `request_body_errors`: a JSON request body against the requestBody schema of the matching
  operation in the Webex OpenAPI excerpt (OpenAPI 3.0 flavoured JSON schema, validated as draft 4;
  `nullable: true` is honoured; `#/components/schemas/...` refs resolve against the whole document).
- `operation_for`: which templated path and operation of the excerpt a concrete request hits.

Both files are package data (`webex_emulator/schemas/*.json`) read with importlib.resources.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import unquote

from jsonschema import Draft4Validator, Draft6Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from webex_emulator.multipart import FormPart, MultipartError

__all__ = [
    "CARD_CONTENT_TYPE",
    "FORM_OPERATIONS",
    "MAX_CARD_VERSION",
    "NO_BEARER_OPERATIONS",
    "SUPPLEMENTAL_OPERATIONS",
    "UNCOUNTED_SUPPLEMENTAL",
    "FormShape",
    "OperationMatch",
    "card_errors",
    "card_schema",
    "form_errors",
    "match_operation",
    "openapi_spec",
    "operation_for",
    "request_body_errors",
]

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
MAX_CARD_VERSION = (1, 3)
OPENAPI_FILE = "webex-openapi-subset.json"
CARD_FILE = "adaptive-card-1.3.schema.json"
_SPEC_URI = "urn:webex-emulator:webex-openapi-subset"
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

_CONTENT_PARAMETER = {"in": "path", "name": "contentId", "required": True, "schema": {"type": "string"}}
_CONTENT_SUMMARY = ("Download the file of a message: the URL in the message's `files` "
                    "(https://developer.webex.com/docs/basics#message-attachments). Not part of the excerpt.")
_TOKEN_FIELDS = ("grant_type", "client_id", "client_secret", "refresh_token", "code", "redirect_uri")

# Real, documented Webex operations that the excerpt does not contain. The emulator serves them like
# Webex; using one counts as a spec violation unless it is in UNCOUNTED_SUPPLEMENTAL (see SOURCES.md).
SUPPLEMENTAL_OPERATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("get", "/contents/{contentId}"): {
        "operationId": "Get Message File", "summary": _CONTENT_SUMMARY, "parameters": [_CONTENT_PARAMETER],
    },
    ("head", "/contents/{contentId}"): {
        "operationId": "Get Message File Headers", "summary": _CONTENT_SUMMARY, "parameters": [_CONTENT_PARAMETER],
    },
    ("post", "/access_token"): {
        "operationId": "Get or Refresh an Access Token",
        "summary": "OAuth token endpoint of integrations and service apps "
                   "(https://developer.webex.com/docs/integrations): grant_type=refresh_token exchanges a "
                   "refresh token for a new access token. Authenticated by the client id and secret in the "
                   "form, not by a bearer token. Not part of the excerpt; see webex_emulator.oauth.",
        "security": [],
        "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
            "type": "object",
            "required": ["grant_type", "client_id", "client_secret"],
            "properties": {name: {"type": "string"} for name in _TOKEN_FIELDS},
        }}}},
    },
}

# Supplemental operations a well-behaved client may use: downloading a message's file is the
# documented way to read it (Webex hands out the URL in `files`), not an API the excerpt forgot.
# The OAuth token endpoint is how every integration renews its access token.
UNCOUNTED_SUPPLEMENTAL: frozenset[tuple[str, str]] = frozenset({
    ("get", "/contents/{contentId}"),
    ("head", "/contents/{contentId}"),
    ("post", "/access_token"),
})

# Operations called without a bearer token (the HTTP layer skips its 401 check for them).
NO_BEARER_OPERATIONS: frozenset[tuple[str, str]] = frozenset({
    ("post", "/access_token"),
})


@dataclass(frozen=True)
class FormShape:
    """The multipart/form-data body an operation also accepts besides its JSON body."""

    text_fields: frozenset[str]
    file_field: str


# Operations that Webex also accepts as multipart/form-data although the excerpt lists only
# application/json (see SOURCES.md): POST /messages with a local file ("Message Attachments").
FORM_OPERATIONS: dict[tuple[str, str], FormShape] = {
    ("post", "/messages"): FormShape(
        text_fields=frozenset({"roomId", "toPersonId", "toPersonEmail", "parentId", "text", "markdown"}),
        file_field="files"),
}


# ---------------------------------------------------------------------------------------- loading


def _read_json(name: str) -> dict[str, Any]:
    text = resources.files("webex_emulator").joinpath("schemas", name).read_text(encoding="utf-8")
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{name} is not a JSON object")
    return data


@cache
def openapi_spec() -> dict[str, Any]:
    """The OpenAPI excerpt as loaded (do not mutate)."""
    return _read_json(OPENAPI_FILE)


@cache
def card_schema() -> dict[str, Any]:
    """The Adaptive Cards 1.3 schema as loaded (do not mutate)."""
    return _read_json(CARD_FILE)


def _nullable_to_type(node: Any) -> Any:
    """OpenAPI 3.0 `nullable: true` means the JSON schema type also admits null."""
    if isinstance(node, dict):
        out = {key: _nullable_to_type(value) for key, value in node.items()}
        if out.get("nullable") is True and "type" in out:
            kind = out["type"]
            kinds = list(kind) if isinstance(kind, list) else [kind]
            if "null" not in kinds:
                kinds.append("null")
            out["type"] = kinds
        return out
    if isinstance(node, list):
        return [_nullable_to_type(item) for item in node]
    return node


@cache
def _spec_registry() -> Registry[Any]:
    document = _nullable_to_type(copy.deepcopy(openapi_spec()))
    resource: Resource[Any] = Resource.from_contents(document, default_specification=DRAFT4)
    registry: Registry[Any] = Registry().with_resource(_SPEC_URI, resource)
    return registry


@cache
def _card_validator() -> Draft6Validator:
    schema = card_schema()
    Draft6Validator.check_schema(schema)
    return Draft6Validator(schema)


@cache
def _body_validator(pointer: str) -> Draft4Validator:
    return Draft4Validator({"$ref": f"{_SPEC_URI}#{pointer}"}, registry=_spec_registry())


# ---------------------------------------------------------------------------------------- operations


@dataclass(frozen=True)
class OperationMatch:
    method: str  # lower case, as in the spec
    template: str  # e.g. "/people/{personId}/features/intercept"
    params: dict[str, str]  # path parameters, percent-decoded
    operation: dict[str, Any]
    supplemental: bool = False  # served although not in the excerpt (see SUPPLEMENTAL_OPERATIONS)

    @property
    def off_spec(self) -> bool:
        """Whether using this operation counts as a spec violation (a supplement not sanctioned
        by UNCOUNTED_SUPPLEMENTAL)."""
        return self.supplemental and (self.method, self.template) not in UNCOUNTED_SUPPLEMENTAL

    @property
    def public(self) -> bool:
        """Whether the operation is called without a bearer token (NO_BEARER_OPERATIONS)."""
        return (self.method, self.template) in NO_BEARER_OPERATIONS

    @property
    def form(self) -> FormShape | None:
        """The multipart/form-data body the operation also accepts, if any."""
        return FORM_OPERATIONS.get((self.method, self.template))


@dataclass(frozen=True)
class _Template:
    template: str
    regex: re.Pattern[str]
    names: tuple[str, ...]
    literal_segments: int


def _compile(template: str) -> _Template:
    names: list[str] = []
    pattern = ""
    literal = 0
    for segment in template.strip("/").split("/"):
        found = re.fullmatch(r"\{([^}]+)\}", segment)
        if found:
            names.append(found.group(1))
            pattern += "/([^/]+)"
        else:
            literal += 1
            pattern += "/" + re.escape(segment)
    return _Template(template, re.compile(pattern + "/?"), tuple(names), literal)


@cache
def _templates() -> tuple[_Template, ...]:
    compiled = [_compile(path) for path in openapi_spec()["paths"]]
    compiled += [_compile(path) for (_, path) in SUPPLEMENTAL_OPERATIONS]
    # most literal segments first, so /people/me beats /people/{personId}
    unique = {t.template: t for t in compiled}
    return tuple(sorted(unique.values(), key=lambda t: (-t.literal_segments, t.template)))


def match_operation(method: str, api_path: str, *, include_supplemental: bool = True) -> OperationMatch | None:
    """The operation a request hits, with its path parameters, or None.

    A path that matches a template whose literal segments fit but whose method is not defined
    falls through to less literal templates (e.g. PUT /people/me hits PUT /people/{personId}).
    """
    verb = method.lower()
    paths: Mapping[str, Any] = openapi_spec()["paths"]
    for template in _templates():
        found = template.regex.fullmatch(api_path)
        if not found:
            continue
        params = {name: unquote(value) for name, value in zip(template.names, found.groups(), strict=True)}
        operation = paths.get(template.template, {}).get(verb)
        if isinstance(operation, dict):
            return OperationMatch(verb, template.template, params, operation)
        extra = SUPPLEMENTAL_OPERATIONS.get((verb, template.template))
        if include_supplemental and extra is not None:
            return OperationMatch(verb, template.template, params, extra, supplemental=True)
    return None


def operation_for(method: str, api_path: str) -> tuple[str, dict[str, Any]] | None:
    """(templated path, operation object) of the excerpt for a request, or None if it has none."""
    found = match_operation(method, api_path, include_supplemental=False)
    return (found.template, found.operation) if found else None


def form_errors(shape: FormShape, parts: Iterable[FormPart]) -> list[str]:
    """Shape errors of a multipart/form-data body (client bugs, like a body that breaks the JSON
    schema): unknown fields, a text field sent twice, as a file or not as UTF-8, a file sent as text.
    How many files there are is the operation's own rule (one per message), not checked here."""
    errors: list[str] = []
    seen: set[str] = set()
    for part in parts:
        if part.name == shape.file_field:
            if not part.is_file:
                errors.append(f"form field {part.name!r} must be a file part (with a filename)")
        elif part.name not in shape.text_fields:
            errors.append(f"form field {part.name!r} is not one of "
                          f"{', '.join(sorted([*shape.text_fields, shape.file_field]))}")
        elif part.is_file:
            errors.append(f"form field {part.name!r} must be text, not a file")
        elif part.name in seen:
            errors.append(f"form field {part.name!r} is given more than once")
        else:
            try:
                part.text()
            except MultipartError as error:
                errors.append(str(error))
        seen.add(part.name)
    return errors


def required_query_errors(match: OperationMatch, query: Mapping[str, str]) -> list[str]:
    """Required query parameters of the operation that the request lacks."""
    errors = []
    for parameter in match.operation.get("parameters", []):
        if parameter.get("in") == "query" and parameter.get("required") and not query.get(parameter["name"]):
            errors.append(f"query parameter {parameter['name']!r} is required")
    return errors


# ---------------------------------------------------------------------------------------- bodies


def _escape_pointer(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _body_schema_pointer(template: str, method: str, operation: Mapping[str, Any]) -> str | None:
    content = (operation.get("requestBody") or {}).get("content") or {}
    for media_type in ("application/json", *content):
        if isinstance(content.get(media_type), dict) and "schema" in content[media_type]:
            return "/".join(("", "paths", _escape_pointer(template), method, "requestBody", "content",
                             _escape_pointer(media_type), "schema"))
    return None


def _format_error(error: ValidationError, prefix: str = "$") -> str:
    where = prefix + error.json_path[1:] if error.json_path.startswith("$") else prefix
    return f"{where}: {error.message}"


def _schema_errors(errors: Iterable[ValidationError], prefix: str = "$") -> list[str]:
    ordered = sorted(errors, key=lambda e: (list(map(str, e.absolute_path)), str(e.message)))
    return [_format_error(error, prefix) for error in ordered]


def _attachment_errors(attachments: Any) -> list[str]:
    """Card attachments of POST /messages.

    The excerpt's `Attachment` schema describes only the enterprise-content-management file kind
    (`content` requires fileId/type/contentUrl), so an Adaptive Card would never pass it. Webex
    accepts cards: they are checked here against the card schema instead.
    """
    if not isinstance(attachments, list):
        return ["$.attachments: must be an array"]
    errors: list[str] = []
    if len(attachments) > 1:
        errors.append("$.attachments: only one attachment (card) per message is supported")
    for index, attachment in enumerate(attachments):
        where = f"$.attachments[{index}]"
        if not isinstance(attachment, dict):
            errors.append(f"{where}: must be an object")
            continue
        content_type = attachment.get("contentType")
        if content_type != CARD_CONTENT_TYPE:
            errors.append(f"{where}.contentType: must be {CARD_CONTENT_TYPE!r}, got {content_type!r}")
        content = attachment.get("content")
        if not isinstance(content, dict):
            errors.append(f"{where}.content: must be an Adaptive Card object")
            continue
        errors.extend(f"{where}.content{error[1:]}" for error in card_errors(content))
    return errors


def request_body_errors(method: str, api_path: str, body: Any) -> list[str]:
    """Errors of a JSON request body against the requestBody schema of the matching operation.

    Returns [] when the body is valid, when the operation has no JSON request body schema, or when
    the path/method is not in the excerpt at all (use `operation_for` to detect that).
    """
    found = match_operation(method, api_path, include_supplemental=False)
    if found is None:
        return []
    pointer = _body_schema_pointer(found.template, found.method, found.operation)
    if pointer is None:
        return []
    if (found.method, found.template) == ("post", "/messages") and isinstance(body, dict) and "attachments" in body:
        rest = {key: value for key, value in body.items() if key != "attachments"}
        return _schema_errors(_body_validator(pointer).iter_errors(rest)) + _attachment_errors(body["attachments"])
    return _schema_errors(_body_validator(pointer).iter_errors(body))


# ---------------------------------------------------------------------------------------- cards


def _parse_version(value: Any) -> tuple[int, ...] | None:
    if not isinstance(value, str) or not re.fullmatch(r"\d+(\.\d+){0,2}", value.strip()):
        return None
    return tuple(int(part) for part in value.strip().split("."))


def _describe(error: ValidationError) -> list[str]:
    """Readable messages for one card schema error.

    Elements and actions are `anyOf` over every element type; rather than "is not valid under
    any of the given schemas", report the errors of the branch whose `type` matches, or that the
    type is unknown.
    """
    if error.validator in ("anyOf", "oneOf") and error.context:
        instance = error.instance
        branches: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        if isinstance(instance, dict) and "type" in instance:
            for sub_errors in branches.values():
                type_mismatch = any(
                    (list(sub.relative_path) == ["type"]) or (sub.validator == "required" and "'type'" in sub.message)
                    for sub in sub_errors)
                if not type_mismatch:
                    out: list[str] = []
                    for sub in sub_errors:
                        out.extend(_describe(sub))
                    return out
            typed = [sub for sub in error.context if list(sub.relative_path) == ["type"] and sub.validator == "enum"]
            if typed:
                return [f"{_format_error(error).split(': ', 1)[0]}: unknown type {instance['type']!r}"]
        elif isinstance(instance, dict) and any(
                sub.validator == "required" and "'type'" in sub.message for sub in error.context):
            return [f"{_format_error(error).split(': ', 1)[0]}: 'type' is a required property"]
        deepest = best_match(error.context)
        if deepest is not None:
            return _describe(deepest)
    return [_format_error(error)]


def card_errors(card: Any) -> list[str]:
    """Errors of an Adaptive Card against the 1.3 schema; [] when the card is valid.

    Beyond the schema: the top-level card must say `"type": "AdaptiveCard"` and carry a `version`
    no newer than 1.3 (the schema's own description says version is required at the top level).
    """
    if not isinstance(card, dict):
        return ["$: an Adaptive Card must be a JSON object"]
    errors: list[str] = []
    if card.get("type") != "AdaptiveCard":
        errors.append(f"$.type: must be 'AdaptiveCard', got {card.get('type')!r}")
    version = card.get("version")
    parsed = _parse_version(version)
    if version is None:
        errors.append("$.version: is required for the top-level card")
    elif parsed is None:
        errors.append(f"$.version: {version!r} is not a version like '1.3'")
    elif parsed[:2] > MAX_CARD_VERSION:
        errors.append(f"$.version: {version!r} is newer than the supported 1.3")
    seen: set[str] = set()
    for error in sorted(_card_validator().iter_errors(card), key=lambda e: list(map(str, e.absolute_path))):
        for message in _describe(error):
            if message not in seen and not (message.startswith("$.type:") and any(
                    existing.startswith("$.type:") for existing in errors)):
                seen.add(message)
                errors.append(message)
    return errors
