"""Pieces every card uses, built with webexpythonsdk's Adaptive Card 1.3 models."""

from __future__ import annotations

from typing import Any

from webexpythonsdk.models.cards import (
    AdaptiveCard,
    Colors,
    FontSize,
    FontWeight,
    Spacing,
    TextBlock,
)

from bot.domain.text import escape_card_text


def card(body: list[Any], actions: list[Any] | None = None) -> dict[str, Any]:
    """The card as the JSON Webex wants in `attachments[0].content`."""
    built: dict[str, Any] = AdaptiveCard(body=body, actions=actions).to_dict()
    return built


def title(text: str) -> TextBlock:
    return TextBlock(escape_card_text(text), size=FontSize.MEDIUM, weight=FontWeight.BOLDER, wrap=True)


def heading(text: str) -> TextBlock:
    return TextBlock(text, weight=FontWeight.BOLDER, wrap=True, spacing=Spacing.MEDIUM, separator=True)


def paragraph(text: str, *, subtle: bool = False) -> TextBlock:
    """Text the bot wrote (may hold markdown the bot chose)."""
    return TextBlock(text, wrap=True, isSubtle=subtle or None)


def error_line(message: str) -> TextBlock:
    """A server-side validation message, shown right under the input it belongs to."""
    return TextBlock("⚠ " + escape_card_text(message), wrap=True, color=Colors.ATTENTION, size=FontSize.SMALL,
                     spacing=Spacing.NONE)


def warning(text: str) -> TextBlock:
    """A sentence the user must read (e.g. what the bot did not understand); `text` may quote them."""
    return TextBlock(escape_card_text(text), wrap=True, color=Colors.WARNING)
