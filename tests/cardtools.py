"""Reading cards in tests: the inputs a card defines, by id."""

from __future__ import annotations

from typing import Any


def inputs_of(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every Input.* element of an Adaptive Card, by its id."""
    found: dict[str, dict[str, Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if str(node.get("type", "")).startswith("Input.") and "id" in node:
                found[node["id"]] = node
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return found
