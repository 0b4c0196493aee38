"""`POST /v1/access_token`: Webex's OAuth token endpoint, as integrations and service apps use it to
refresh an access token (https://developer.webex.com/docs/integrations).

    POST /v1/access_token
    Content-Type: application/x-www-form-urlencoded

    grant_type=refresh_token&client_id=...&client_secret=...&refresh_token=...

No bearer token: the client id and secret in the form authenticate the request. The answer (200):
`{"access_token", "expires_in", "refresh_token", "refresh_token_expires_in", "token_type": "Bearer"}`.
The emulator issues no authorization codes, so `grant_type=authorization_code` is well-formed but
always refused (invalid_grant). Errors carry Webex's error body with the OAuth error code in front:
`{"message": "(invalid_client) ...", "errors": [{"description": "(invalid_client) ..."}], "trackingId"}`:

- 400 (invalid_request): the body is not a form, a field is missing or given twice;
- 400 (unsupported_grant_type): grant_type is neither refresh_token nor authorization_code;
- 401 (invalid_client): unknown client id or wrong client secret;
- 400 (invalid_grant): unknown, revoked or expired refresh token, one of another client, a
  person who no longer exists, or any authorization code.

The first two are the client's bug and are also logged as spec violations (`TokenForm.errors`);
refused credentials are not.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import parse_qsl

from webex_emulator.api import ApiError, ApiResponse
from webex_emulator.state import REFRESH_TOKEN_LIFETIME, Grant, State, unused_token

__all__ = ["FORM_TYPE", "GRANT_TYPES", "TOKEN_OPERATION", "OAuth", "TokenForm", "parse_token_form"]

TOKEN_OPERATION = ("post", "/access_token")
FORM_TYPE = "application/x-www-form-urlencoded"
GRANT_TYPES = ("authorization_code", "refresh_token")
_REQUIRED = ("grant_type", "client_id", "client_secret")
_REQUIRED_FOR = {"refresh_token": ("refresh_token",), "authorization_code": ("code", "redirect_uri")}

INVALID_CLIENT = "The client_id or client_secret is invalid."
INVALID_REFRESH = "The refresh token provided is expired, revoked, malformed, or invalid."
INVALID_CODE = "The authorization code is invalid or expired."


@dataclass(frozen=True)
class TokenForm:
    """A parsed token request: its fields (each given once) and what is wrong with its shape."""

    fields: dict[str, str]
    errors: list[str]  # the client's bug: logged as spec violations, answered 400
    unsupported_grant: bool = False  # grant_type is not one of GRANT_TYPES


def parse_token_form(content_type: str, body: bytes) -> TokenForm:
    main = content_type.split(";")[0].strip().lower()
    if main != FORM_TYPE:
        return TokenForm({}, [f"the body must be {FORM_TYPE}, not {main or 'a body without Content-Type'}"])
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=bool(body),
                          errors="strict")
    except (UnicodeDecodeError, ValueError) as error:
        return TokenForm({}, [f"the body is not a valid {FORM_TYPE} form: {error}"])
    fields: dict[str, str] = {}
    errors: list[str] = []
    for name, value in pairs:
        if name in fields:
            errors.append(f"form field {name!r} is given more than once")
        else:
            fields[name] = value
    grant_type = fields.get("grant_type", "")
    required = _REQUIRED + _REQUIRED_FOR.get(grant_type, ())
    errors += [f"form field {name!r} is required" + (f" for grant_type={grant_type}" if name not in _REQUIRED else "")
               for name in required if not fields.get(name)]
    unsupported = bool(grant_type) and grant_type not in GRANT_TYPES
    if unsupported:
        errors.append(f"grant_type {grant_type!r} is not supported (use one of {', '.join(GRANT_TYPES)})")
    return TokenForm(fields, errors, unsupported)


def _refused(status: int, code: str, description: str) -> ApiError:
    text = f"({code}) {description}"
    return ApiError(status, text, [text])


class OAuth:
    """Answers token requests from the grants in `State` (see `WebexEmulator.grant`)."""

    def __init__(self, state: State) -> None:
        self.state = state

    def token(self, form: TokenForm) -> ApiResponse:
        if form.errors:
            raise _refused(400, "unsupported_grant_type" if form.unsupported_grant else "invalid_request",
                           "; ".join(form.errors))
        fields = form.fields
        with self.state.lock:
            secret = self.state.oauth_clients.get(fields["client_id"])
            if secret is None or not secrets.compare_digest(secret.encode(), fields["client_secret"].encode()):
                raise _refused(401, "invalid_client", INVALID_CLIENT)
            if fields["grant_type"] == "authorization_code":
                raise _refused(400, "invalid_grant", INVALID_CODE)
            grant = self.state.grants.get(fields["refresh_token"])
            now = self.state.ticks()
            if (grant is None or grant.client_id != fields["client_id"] or now >= grant.refresh_deadline
                    or grant.person_id not in self.state.people):
                raise _refused(400, "invalid_grant", INVALID_REFRESH)
            access_token = self.state.issue_access_token(grant)
            if grant.rotate:
                self._rotate(grant)
            grant.refresh_deadline = now + REFRESH_TOKEN_LIFETIME  # using it renews its lifetime
            self.state.refreshes += 1
            return ApiResponse(200, {
                "access_token": access_token,
                "expires_in": grant.access_expires_in,
                "refresh_token": grant.refresh_token,
                "refresh_token_expires_in": REFRESH_TOKEN_LIFETIME,
                "token_type": "Bearer",
            }, headers={"Cache-Control": "no-store"})

    def _rotate(self, grant: Grant) -> None:
        """A new refresh token replaces the old one, which stops working."""
        del self.state.grants[grant.refresh_token]
        fresh = unused_token(self.state.grants)
        grant.refresh_token = fresh
        self.state.grants[fresh] = grant
