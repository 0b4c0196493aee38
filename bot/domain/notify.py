"""Telling people things. A notification that cannot be delivered is logged, never raised: the
state change it reports has already happened."""

from __future__ import annotations

import logging

from bot.domain.model import Request
from bot.domain.ports import CardAction, Webex, WebexError

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, webex: Webex, *, approvers: frozenset[str], approval_room_id: str | None) -> None:
        self.webex = webex
        self.approvers = approvers
        self.approval_room_id = approval_room_id

    def tell_requester(self, request: Request, markdown: str) -> None:
        try:
            self.webex.send(room_id=request.room_id, markdown=markdown)
        except WebexError as error:
            log.warning("could not tell the requester of %s: %s", request.id, error)

    def tell_approvers(self, markdown: str) -> None:
        """The approval space when there is one, else each approver directly."""
        room = self.approval_room_id
        for email in [None] if room else sorted(self.approvers):
            try:
                self.webex.send(markdown=markdown, room_id=room, to_person_email=email)
            except WebexError as error:
                log.warning("could not tell approvers: %s", error)

    def reply(self, action: CardAction, markdown: str) -> None:
        """Answer a click in the card's thread; in the room when the card is gone already."""
        for parent in (action.message_id, None):
            try:
                self.webex.send(room_id=action.room_id, parent_id=parent, markdown=markdown)
                return
            except WebexError as error:
                if error.transient or parent is None:
                    log.warning("could not answer a card action: %s", error)
                    return

    def delete(self, message_id: str) -> bool:
        """True when the message is gone (deleted now, or before); False when Webex did not answer."""
        try:
            self.webex.delete_message(message_id)
        except WebexError as error:
            if error.transient:
                log.warning("could not delete card message (trying again later): %s", error)
                return False
            if error.status != 404:
                log.warning("could not delete card message: %s", error)
        return True
