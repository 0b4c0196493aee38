"""Answering people and taking cards away. A reply that cannot be delivered is logged, never
raised: the state change it answers has already happened. (News — what happened to a request —
is told by bot.domain.announce, from the audit log.)"""

from __future__ import annotations

import logging

from bot.domain.ports import CardAction, Webex, WebexError

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, webex: Webex, *, approvers: frozenset[str], approval_room_id: str | None) -> None:
        self.webex = webex
        self.approvers = approvers
        self.approval_room_id = approval_room_id

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
