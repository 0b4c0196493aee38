"""Requesting: a phrase becomes a prefilled form, a `.wav` becomes the custom greeting, and a
submitted form is checked on the server and sent to the approvers."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.domain import form, greeting
from bot.domain.model import InterceptSettings, Request, Status
from bot.domain.outbox import Keep, Reply
from bot.domain.ports import Card, ChatMessage, WebexError
from bot.domain.text import escape_markdown
from bot.domain.timeparse import parse_window
from bot.domain.values import CardKind, Reason, Recipient

from .approval import NO_APPROVER, Approval
from .base import Clicked, Core, Replies, Said, conversation


class Requesting:
    def __init__(self, core: Core, approval: Approval) -> None:
        self.core = core
        self.approval = approval

    def start(self, said: Said) -> Replies:
        """`intercept me until Friday`: the form, prefilled from the phrase and the person's settings."""
        person, now = said.person, self.core.clock.now()
        zone = self.core.zone(person.timezone)
        current = self.current_settings(person.id)
        if isinstance(current, Reply):
            return current
        taken = self._greeting_from(said.message, current) if said.message.files else None
        problems = (taken,) if isinstance(taken, Reply) else ()
        wav = taken if isinstance(taken, tuple) else None
        values, note = self._prefill(said, current, zone)
        if wav is not None:
            values[form.GREETING] = "CUSTOM"
        replaced = False
        for old in self.core.requests.for_person(person.id, [Status.FORM_SENT]):
            if self.core.requests.move(old.id, Status.FORM_SENT, Status.CANCELLED, now=now,
                                       reason=Reason.FORM_REPLACED):
                self.core.outbox.withdraw_all(old.id, CardKind.FORM)
                replaced = True
        if replaced:  # its card is gone from the conversation: say why
            note = " ".join(part for part in (note, "This form replaces the one I sent you before.") if part)
        request = Request(
            id=uuid.uuid4().hex, person_id=person.id, person_email=person.email,
            person_name=person.display_name, zone=zone.key, room_id=said.private.room_id or "",
            status=Status.FORM_SENT, created_at=now, updated_at=now, draft=values, draft_note=note,
            greeting_file=wav[0] if wav else "")
        self.core.requests.add(request)
        if wav is not None:
            self.core.stores.greetings.save(request.id, *wav)
        return (*problems, self._form(request, values, {}, note, current))

    def _prefill(self, said: Said, current: InterceptSettings, zone: ZoneInfo) -> tuple[dict[str, str], str]:
        """The form's values from the sentence (its window, where it sends calls) and the person's settings,
        and the note that says what the sentence did not make clear."""
        now, rest = self.core.clock.now(), said.command.rest
        window = parse_window(rest, now, zone)
        values = {**form.settings_values(current.with_enabled(True)),
                  **form.window_values(window.start, window.end, zone), form.REASON: ""}
        note = window.problem or ("" if window.end else "Choose when the intercept should end.")
        if window.lasts is not None and window.end is not None:
            values.update(form.lasts_values(window.lasts, window.end, zone))
            note = note or (f"For {window.lasts.words()} from when it goes on: the end shown is as if it went on "
                            "now. Change the end to make it fixed.")
        if window.other is not None and window.other.end is not None:
            values.update(form.other_values(window.other.start, window.other.end, zone))
            note = (f'"{rest.strip()}" can be read two ways: the form has the likelier one, and the button below '
                    "offers the other.")
        if window.end is not None and window.end - now > timedelta(days=self.core.policy.max_days):
            note = f"That end is more than {self.core.policy.max_days} days away: choose an earlier one."
        if number := said.command.destination:  # "forward my calls to +49 ...": what an intercept can do
            values.update(form.destination_values(number))
            note = " ".join(part for part in (note, f"An intercept does not forward calls: callers hear the new "
                                                    f"number {number}, and those who press 0 go to it.") if part)
        return values, note

    def greeting(self, said: Said) -> Reply | None:
        """A .wav sent while the form is out: it becomes the request's custom greeting."""
        person_id = said.message.person_id
        request = next(iter(reversed(self.core.requests.for_person(person_id, [Status.FORM_SENT]))), None)
        if request is None:
            return Reply("I can use a .wav file as your intercept greeting: say `intercept me until ...` with the "
                         "file attached, or send it while you have my request form.")
        current = self.current_settings(person_id)
        if isinstance(current, Reply):
            return current
        taken = self._greeting_from(said.message, current)
        if isinstance(taken, Reply):
            return taken
        values = {**request.draft, form.GREETING: "CUSTOM"}
        self.core.stores.greetings.save(request.id, *taken)
        changed = self.core.requests.change(request.id, Status.FORM_SENT, now=self.core.clock.now(),
                                            changes={"greeting_file": taken[0], "draft": values})
        if changed is None:
            return None
        self.core.outbox.withdraw_all(request.id, CardKind.FORM)
        return self._form(changed, values, {}, f"Callers will hear {taken[0]} when you choose it.", current)

    def submit(self, click: Clicked) -> Reply | None:
        """A submitted form: checked on the server; with errors, the form again with the values kept."""
        request, now = click.subject, self.core.clock.now()
        current = self.current_settings(request.person_id)
        if isinstance(current, Reply):
            return replace(current, to=conversation(request))
        if request.greeting_file:  # the greeting the requester sent counts as one Webex has
            current = replace(current, file_name=request.greeting_file)
        submission = form.read_submission(click.action.inputs, now=now, zone=ZoneInfo(request.zone),
                                          max_days=self.core.policy.max_days, current=current)
        draft = {**form.carried(request.draft), **submission.values}
        if submission.valid is None:
            if self.core.requests.change(request.id, Status.FORM_SENT, now=now,
                                         changes={"draft": draft, "draft_note": ""}) is None:
                return None
            self.core.outbox.withdraw_all(request.id, CardKind.FORM)
            return self._form(request, submission.values, submission.errors, "", current)
        valid = submission.valid
        if not self.approval.recipients(request):
            return Reply(NO_APPROVER)
        moved = self.core.requests.move(
            request.id, Status.FORM_SENT, Status.AWAITING_APPROVAL, now=now, actor_id=click.action.person_id,
            reason=Reason.FORM_SUBMITTED, changes={
                "requested": valid.settings, "start_at": valid.start_at, "end_at": valid.end_at,
                "reason": valid.reason, "draft": draft, "draft_note": "",
                "lasts": form.lasts_kept(request.draft, submission.values)})
        if moved is not None:
            self.core.outbox.withdraw_all(request.id, CardKind.FORM)
            self.approval.ask(moved)
        return None

    def other_reading(self, click: Clicked) -> Reply | None:
        """The form's "Meant ...?" button: the form again with the other reading of the phrase (the button then
        offers the first one), and whatever else the requester had changed kept."""
        request, now = click.subject, self.core.clock.now()
        values = form.with_other_reading(request.draft, click.action.inputs)
        if values is None:
            return None  # a form drawn without another reading has no such button
        current = self.current_settings(request.person_id)
        if isinstance(current, Reply):
            return replace(current, to=conversation(request))
        note = "Changed to the other reading of your phrase: the button below changes it back."
        changed = self.core.requests.change(request.id, Status.FORM_SENT, now=now,
                                            changes={"draft": values, "draft_note": note})
        if changed is None:
            return None
        self.core.outbox.withdraw_all(request.id, CardKind.FORM)
        return self._form(changed, values, {}, note, current)

    def cancel(self, click: Clicked) -> None:
        """The form's Cancel button: nothing was changed (the announcer says so)."""
        request = click.subject
        if self.core.requests.move(request.id, Status.FORM_SENT, Status.CANCELLED, now=self.core.clock.now(),
                                   actor_id=click.action.person_id, reason=Reason.FORM_CANCELLED):
            self.core.outbox.withdraw_all(request.id, CardKind.FORM)

    def current_settings(self, person_id: str) -> InterceptSettings | Reply:
        """The person's settings as Webex has them, or what to tell them when Webex refuses for good
        (a transient failure propagates, so the event is tried again later)."""
        try:
            return self.core.webex.get_intercept(person_id)
        except WebexError as error:
            if error.transient:
                raise
            return Reply("I could not read your call intercept settings from Webex Calling, so I cannot intercept "
                         f"your phone. Webex answered: {escape_markdown(error.message)}. Is your account licensed "
                         "for Webex Calling? An administrator can check.")

    def _form(self, request: Request, values: dict[str, str], errors: dict[str, str], note: str,
              current: InterceptSettings) -> Reply:
        card: Card = self.core.presenter.form(
            request, values=values, errors=errors, note=note, max_days=self.core.policy.max_days,
            custom_greeting=request.greeting_file or current.file_name, now=self.core.clock.now())
        return Reply.showing(card, keep=Keep(CardKind.FORM, request.id, Recipient.requester(request.person_id)),
                             to=conversation(request))

    def _greeting_from(self, message: ChatMessage, current: InterceptSettings) -> tuple[str, bytes] | Reply:
        """The .wav attached to a message, checked; or why it will not do."""
        try:
            name, data = self.core.webex.download(message.files[0], greeting.MAX_BYTES)
        except WebexError as error:
            if error.transient:
                raise
            return Reply(f"I could not fetch the file you sent ({escape_markdown(error.message)}).")
        wav, problem = greeting.read_wav(name, data)
        if wav is None:
            return Reply(escape_markdown(problem) + " I kept the default greeting.")
        if current.file_name and current.file_name not in self.core.stores.audit.greetings_uploaded(message.person_id):
            # one an administrator set: the bot's own earlier upload may be replaced, not theirs
            name = escape_markdown(current.file_name)
            return Reply(f"You already have a custom intercept greeting on Webex ({name}). Uploading another would "
                         "replace it for good, so I keep yours: choose it on the form to use it.")
        return name, data
