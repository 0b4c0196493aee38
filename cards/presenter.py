"""The cards the domain asks for (`bot.domain.ports.Presenter`), each with the message text that
goes with it: the domain says what to show, these modules how."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.domain.model import InterceptSettings, Request
from bot.domain.ports import Card, HelpLine
from cards import approval, status
from cards import form as form_card


class CardPresenter:
    def form(self, request: Request, *, values: Mapping[str, str], errors: Mapping[str, str], note: str,
             max_days: int, custom_greeting: str, now: datetime) -> Card:
        content = form_card.request_form(person_name=request.person_name, values=values, errors=errors,
                                         zone=request.zone, note=note, max_days=max_days,
                                         custom_greeting=custom_greeting, now=now)
        return Card(form_card.form_markdown(errors), content)

    def approval(self, request: Request, *, viewer_zone: str | None, now: datetime,
                 extends: Request | None = None) -> Card:
        return Card(approval.approval_markdown(request),
                    approval.approval_card(request, viewer_zone=viewer_zone, now=now, extends=extends))

    def outcome(self, request: Request, outcome: str, *, viewer_zone: str | None) -> Card:
        return Card(approval.outcome_markdown(request, outcome),
                    approval.outcome_card(request, outcome, viewer_zone=viewer_zone))

    def status(self, *, person_name: str, current: InterceptSettings | None, requests: Sequence[Request],
               zone: str, now: datetime, problem: str) -> Card:
        return Card(status.status_markdown(current, requests, problem),
                    status.status_card(person_name=person_name, current=current, requests=requests, zone=zone,
                                       now=now, problem=problem))

    def reminder(self, request: Request, *, now: datetime) -> Card:
        return Card(status.reminder_markdown(request, now=now), status.reminder_card(request, now=now))

    def help(self, lines: Sequence[HelpLine]) -> Card:
        return Card(status.help_markdown(lines), status.help_card(lines))
