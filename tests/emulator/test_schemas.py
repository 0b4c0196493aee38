"""The schema helpers: Adaptive Card 1.3 checks, OpenAPI request bodies, operation matching."""

from __future__ import annotations

from tests.emulator.helpers import CARD_TYPE, card
from webex_emulator import card_errors, operation_for, request_body_errors
from webex_emulator.schemas import card_schema, openapi_spec


def test_schemas_are_package_data() -> None:
    assert openapi_spec()["openapi"].startswith("3.")
    assert card_schema()["id"] == "http://adaptivecards.io/schemas/adaptive-card.json"


def test_valid_card_has_no_errors() -> None:
    assert card_errors(card(
        {"type": "TextBlock", "text": "Hello", "wrap": True},
        {"type": "Input.Text", "id": "reason", "label": "Reason", "isRequired": True},
        {"type": "Input.ChoiceSet", "id": "who", "choices": [{"title": "Alice", "value": "a"}]},
        {"type": "Input.Date", "id": "from"},
        {"type": "ColumnSet", "columns": [{"type": "Column", "items": [{"type": "TextBlock", "text": "x"}]}]},
    )) == []


def test_card_errors_are_readable() -> None:
    errors = card_errors(card({"type": "TextBlock"}, {"type": "Fancy"}, {"text": "no type"},
                              {"type": "TextBlock", "text": "a", "colour": "red"}))
    assert "$.body[0]: 'text' is a required property" in errors
    assert "$.body[1]: unknown type 'Fancy'" in errors
    assert "$.body[2]: 'type' is a required property" in errors
    assert any("colour" in error for error in errors)


def test_card_version_newer_than_1_3_is_rejected() -> None:
    assert card_errors(card(version="1.2")) == []
    assert any("newer than" in error for error in card_errors(card(version="1.4")))
    assert card_errors({"type": "AdaptiveCard", "body": []}) == ["$.version: is required for the top-level card"]
    assert card_errors("not a card") == ["$: an Adaptive Card must be a JSON object"]


def test_request_body_errors_for_intercept_put() -> None:
    path = "/people/abc/features/intercept"
    assert request_body_errors("PUT", path, {"enabled": True, "incoming": {"type": "ALLOW_ALL"}}) == []
    assert request_body_errors("PUT", path, {"incoming": {"type": "SOMETIMES"}}) == [
        "$.incoming.type: 'SOMETIMES' is not one of ['INTERCEPT_ALL', 'ALLOW_ALL']"]
    assert request_body_errors("PUT", path, {"enabled": "yes"}) == ["$.enabled: 'yes' is not of type 'boolean'"]
    assert request_body_errors("PUT", path, []) == ["$: [] is not of type 'object'"]


def test_request_body_errors_check_message_cards_against_the_card_schema() -> None:
    good = {"roomId": "r", "markdown": "hi", "attachments": [{"contentType": CARD_TYPE, "content": card()}]}
    assert request_body_errors("POST", "/messages", good) == []
    bad = {"roomId": "r", "attachments": [{"contentType": "text/plain", "content": card({"type": "Nope"})}]}
    errors = request_body_errors("POST", "/messages", bad)
    assert any("contentType" in error for error in errors)
    assert "$.attachments[0].content.body[0]: unknown type 'Nope'" in errors


def test_request_body_errors_resolve_refs_and_required() -> None:
    assert request_body_errors("POST", "/attachment/actions", {"type": "submit", "messageId": "m", "inputs": {}}) == []
    assert request_body_errors("POST", "/attachment/actions", {"type": "click", "messageId": "m", "inputs": {}}) == [
        "$.type: 'click' is not one of ['submit']"]
    assert sorted(request_body_errors("POST", "/webhooks", {"name": "n"})) == [
        "$: 'event' is a required property", "$: 'resource' is a required property",
        "$: 'targetUrl' is a required property"]


def test_operation_for_prefers_literal_paths() -> None:
    found = operation_for("GET", "/people/me")
    assert found is not None and found[0] == "/people/me"
    found = operation_for("get", "/people/Y2lz")
    assert found is not None and found[0] == "/people/{personId}"
    found = operation_for("POST", "/people/p1/features/intercept/actions/announcementUpload/invoke")
    assert found is not None and found[1]["operationId"] == "Configure Call Intercept Greeting for a Person"
    assert operation_for("PATCH", "/messages/m1") is None
    assert operation_for("GET", "/rooms") is None
    found = operation_for("GET", "/people")
    assert found is not None and found[1]["operationId"] == "List People"
    found = operation_for("GET", "/rooms/r1")
    assert found is not None and found[0] == "/rooms/{roomId}"
    assert operation_for("GET", "/contents/c1") is None  # the message file download: not in the excerpt either
