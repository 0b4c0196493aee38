"""A stateful Webex API emulator for tests and the local demo.

It serves the parts of the Webex REST API the intercept bot uses (people, messages with cards or an
uploaded file and its download URL, attachment actions, webhooks, call intercept, the OAuth token
refresh of integrations), checks every request against the official OpenAPI excerpt and Adaptive
Card 1.3 schema it ships with, and delivers ids-only, signed webhooks like Webex does.
"""

from webex_emulator.emulator import EmulatorError, FileUpload, WebexEmulator
from webex_emulator.schemas import card_errors, operation_for, request_body_errors
from webex_emulator.state import DEFAULT_INTERCEPT, Content, Delivery, Person, RecordedRequest, Upload

__all__ = [
    "DEFAULT_INTERCEPT",
    "Content",
    "Delivery",
    "EmulatorError",
    "FileUpload",
    "Person",
    "RecordedRequest",
    "Upload",
    "WebexEmulator",
    "card_errors",
    "operation_for",
    "request_body_errors",
]
