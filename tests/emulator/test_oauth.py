"""POST /v1/access_token: refreshing an integration's access token, as Webex does."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from webexpythonsdk import WebexAPI
from webexpythonsdk.exceptions import ApiError

from tests.emulator.helpers import Answer, Cast, raw_request
from webex_emulator import WebexEmulator
from webex_emulator.state import REFRESH_TOKEN_LIFETIME

FORM = "application/x-www-form-urlencoded"
CLIENT_ID = "C0ffee-client"
CLIENT_SECRET = "s3cret"


def _refresh(cast: Cast, refresh_token: str, *, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET,
             grant_type: str = "refresh_token", token: str | None = None) -> Answer:
    body = urlencode({"grant_type": grant_type, "client_id": client_id, "client_secret": client_secret,
                      "refresh_token": refresh_token}).encode()
    return raw_request(cast.emu, "POST", "/access_token", body=body, content_type=FORM, token=token)


def _granted(cast: Cast, *, refresh_token: str | None = None, access_expires_in: int = 1209599,
             rotate_refresh_token: bool = False) -> tuple[str, str]:
    cast.emu.add_oauth_client(CLIENT_ID, CLIENT_SECRET)
    return cast.emu.grant(CLIENT_ID, cast.admin, refresh_token=refresh_token, access_expires_in=access_expires_in,
                          rotate_refresh_token=rotate_refresh_token)


def _oauth_error(answer: Answer, status: int, code: str) -> None:
    assert answer.status == status
    body = answer.json
    assert set(body) == {"message", "errors", "trackingId"}
    assert body["message"].startswith(f"({code}) ")
    assert body["errors"] == [{"description": body["message"]}]
    assert body["trackingId"] == answer.headers["trackingid"]


def test_refresh_round_trip(cast: Cast) -> None:
    emu = cast.emu
    access, refresh = _granted(cast)
    status, me = emu.call(access, "GET", "/people/me")
    assert status == 200 and me["id"] == cast.admin.id
    status, _ = emu.call(access, "GET", f"/people/{cast.alice.id}/features/intercept")
    assert status == 200  # the admin's rights come with the granted token

    emu.expire_token(access)
    status, body = emu.call(access, "GET", "/people/me")
    assert status == 401 and body["message"] and body["trackingId"]
    assert not emu.token_valid(access)
    assert emu.refreshes == 0

    answer = _refresh(cast, refresh)
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["cache-control"] == "no-store"
    data = answer.json
    assert list(data) == ["access_token", "expires_in", "refresh_token", "refresh_token_expires_in",
                          "token_type"]
    assert data["expires_in"] == 1209599 and data["refresh_token_expires_in"] == 7776000
    assert data["token_type"] == "Bearer"
    assert data["refresh_token"] == refresh  # the refresh token stays the same
    new = data["access_token"]
    assert new != access and emu.refreshes == 1
    status, me = emu.call(new, "GET", "/people/me")
    assert status == 200 and me["id"] == cast.admin.id
    assert emu.call(new, "GET", f"/people/{cast.alice.id}/features/intercept")[0] == 200
    assert emu.call(access, "GET", "/people/me")[0] == 401  # the expired one stays expired

    # the same refresh token works again, for yet another access token
    again = _refresh(cast, refresh)
    assert again.status == 200 and again.json["access_token"] not in (access, new)
    assert emu.refreshes == 2
    assert emu.call(new, "GET", "/people/me")[0] == 200  # an older, unexpired token still works
    assert emu.spec_violations == []
    recorded = emu.requests_matching("POST", "/access_token")
    assert [r.status for r in recorded] == [200, 200] and recorded[0].caller_id is None


def test_no_bearer_needed_and_a_stray_one_is_ignored(cast: Cast) -> None:
    _, refresh = _granted(cast)
    assert _refresh(cast, refresh).status == 200
    assert _refresh(cast, refresh, token="not-a-token").status == 200
    assert _refresh(cast, refresh, token="alice-token").status == 200
    assert cast.emu.refreshes == 3
    assert cast.emu.spec_violations == []


def test_wrong_client_credentials(cast: Cast) -> None:
    _, refresh = _granted(cast)
    _oauth_error(_refresh(cast, refresh, client_secret="wrong"), 401, "invalid_client")
    _oauth_error(_refresh(cast, refresh, client_id="someone-else"), 401, "invalid_client")
    cast.emu.add_oauth_client("other-client", "other-secret")  # a real client, but not this grant's
    _oauth_error(_refresh(cast, refresh, client_id="other-client", client_secret="other-secret"), 400,
                 "invalid_grant")
    assert cast.emu.refreshes == 0
    assert cast.emu.spec_violations == []  # refused credentials are not the client's spec bug


def test_unknown_or_revoked_refresh_token(cast: Cast) -> None:
    access, refresh = _granted(cast)
    _oauth_error(_refresh(cast, "no-such-refresh-token"), 400, "invalid_grant")
    cast.emu.revoke_grant(refresh)
    _oauth_error(_refresh(cast, refresh), 400, "invalid_grant")
    assert cast.emu.call(access, "GET", "/people/me")[0] == 401
    assert cast.emu.refreshes == 0 and cast.emu.spec_violations == []


@pytest.mark.parametrize("missing", ["grant_type", "client_id", "client_secret", "refresh_token"])
def test_a_missing_field_is_400_and_a_violation(cast: Cast, missing: str) -> None:
    _, refresh = _granted(cast)
    fields = {"grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
              "refresh_token": refresh}
    del fields[missing]
    answer = raw_request(cast.emu, "POST", "/access_token", body=urlencode(fields).encode(), content_type=FORM)
    _oauth_error(answer, 400, "invalid_request")
    assert repr(missing) in answer.json["message"]
    [violation] = cast.emu.spec_violations
    assert violation.startswith("POST /v1/access_token: ") and repr(missing) in violation
    assert cast.emu.refreshes == 0


def test_another_grant_type_is_400(cast: Cast) -> None:
    _, refresh = _granted(cast)
    _oauth_error(_refresh(cast, refresh, grant_type="client_credentials"), 400, "unsupported_grant_type")
    _oauth_error(_refresh(cast, refresh, grant_type="password"), 400, "unsupported_grant_type")
    assert len(cast.emu.spec_violations) == 2
    cast.emu.clear_spec_violations()
    # a well-formed authorization_code exchange: valid Webex, but the emulator hands out no codes
    body = urlencode({"grant_type": "authorization_code", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                      "code": "abc", "redirect_uri": "https://bot.example.com/cb"}).encode()
    _oauth_error(raw_request(cast.emu, "POST", "/access_token", body=body, content_type=FORM), 400,
                 "invalid_grant")
    assert cast.emu.spec_violations == [] and cast.emu.refreshes == 0


def test_a_body_that_is_not_a_form_is_400(cast: Cast) -> None:
    _, refresh = _granted(cast)
    fields = {"grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
              "refresh_token": refresh}
    _oauth_error(raw_request(cast.emu, "POST", "/access_token", json_body=fields), 400, "invalid_request")
    _oauth_error(raw_request(cast.emu, "POST", "/access_token", content_type=FORM), 400, "invalid_request")
    twice = (urlencode(fields) + "&client_id=" + CLIENT_ID).encode()
    answer = raw_request(cast.emu, "POST", "/access_token", body=twice, content_type=FORM)
    _oauth_error(answer, 400, "invalid_request")
    assert "more than once" in answer.json["message"]
    # one violation per problem: the JSON body, three missing fields of the empty form, the repeat
    assert len(cast.emu.spec_violations) == 5 and cast.emu.refreshes == 0


def test_charset_parameter_is_fine_and_faults_apply(cast: Cast) -> None:
    _, refresh = _granted(cast)
    body = urlencode({"grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                      "refresh_token": refresh}).encode()
    answer = raw_request(cast.emu, "POST", "/access_token", body=body, content_type=FORM + "; charset=UTF-8")
    assert answer.status == 200
    cast.emu.fail("POST", "/access_token", 503, retry_after="2")
    failed = _refresh(cast, refresh)
    assert failed.status == 503 and failed.headers["retry-after"] == "2"
    assert _refresh(cast, refresh).status == 200
    assert cast.emu.refreshes == 2 and cast.emu.spec_violations == []


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticking() -> Iterator[tuple[Cast, Ticks]]:
    ticks = Ticks()
    emu = WebexEmulator(ticks=ticks)
    admin = emu.add_person(email="admin@example.com", display_name="Ada Admin", token="admin-token", admin=True)
    alice = emu.add_person(email="alice@example.com", display_name="Alice Adler", token="alice-token")
    with emu:
        yield Cast(emu, admin, admin, alice, alice), ticks


def test_access_tokens_expire_by_time(ticking: tuple[Cast, Ticks]) -> None:
    cast, ticks = ticking
    access, refresh = _granted(cast, access_expires_in=60)
    assert cast.emu.call(access, "GET", "/people/me")[0] == 200
    answer = _refresh(cast, refresh)
    assert answer.json["expires_in"] == 60  # every token of this grant lives 60 s
    ticks.now += 59.9
    assert cast.emu.call(access, "GET", "/people/me")[0] == 200
    ticks.now += 0.1
    assert cast.emu.call(access, "GET", "/people/me")[0] == 401
    assert cast.emu.call(answer.json["access_token"], "GET", "/people/me")[0] == 401
    renewed = _refresh(cast, refresh).json["access_token"]
    assert cast.emu.call(renewed, "GET", "/people/me")[0] == 200


def test_an_unused_refresh_token_expires_and_using_one_renews_it(ticking: tuple[Cast, Ticks]) -> None:
    cast, ticks = ticking
    _, kept_fresh = _granted(cast, refresh_token="kept-fresh")
    _, left = _granted(cast, refresh_token="left-alone")
    ticks.now += REFRESH_TOKEN_LIFETIME - 1
    assert _refresh(cast, kept_fresh).status == 200  # using it starts its 90 days again
    ticks.now += 1
    _oauth_error(_refresh(cast, left), 400, "invalid_grant")
    ticks.now += REFRESH_TOKEN_LIFETIME - 2
    assert _refresh(cast, kept_fresh).status == 200


def test_rotating_refresh_tokens(cast: Cast) -> None:
    _, refresh = _granted(cast, refresh_token="first-refresh", rotate_refresh_token=True)
    assert refresh == "first-refresh"
    answer = _refresh(cast, refresh)
    assert answer.status == 200 and answer.json["refresh_token"] != refresh
    _oauth_error(_refresh(cast, refresh), 400, "invalid_grant")
    assert _refresh(cast, answer.json["refresh_token"]).status == 200
    assert cast.emu.refreshes == 2


def test_control_api_checks_its_arguments(cast: Cast) -> None:
    emu = cast.emu
    with pytest.raises(KeyError):
        emu.grant("unknown-client", cast.admin)
    emu.add_oauth_client(CLIENT_ID, CLIENT_SECRET)
    with pytest.raises(KeyError):
        emu.grant(CLIENT_ID, "nobody@example.com")
    with pytest.raises(ValueError):
        emu.grant(CLIENT_ID, cast.admin, access_expires_in=0)
    with pytest.raises(ValueError):
        emu.add_oauth_client("", "x")
    access, refresh = emu.grant(CLIENT_ID, "admin@example.com", refresh_token="r-1")
    assert refresh == "r-1" and emu.call(access, "GET", "/people/me")[1]["id"] == cast.admin.id
    assert emu.call(emu.grant(CLIENT_ID, cast.admin.id)[0], "GET", "/people/me")[0] == 200
    with pytest.raises(ValueError):
        emu.grant(CLIENT_ID, cast.admin, refresh_token="r-1")
    with pytest.raises(KeyError):
        emu.expire_token("no-such-token")
    with pytest.raises(KeyError):
        emu.revoke_grant("no-such-refresh-token")
    emu.add_oauth_client(CLIENT_ID, "rotated-secret")  # replacing the secret
    _oauth_error(_refresh(cast, "r-1"), 401, "invalid_client")
    assert _refresh(cast, "r-1", client_secret="rotated-secret").status == 200


def test_expire_token_also_works_on_a_person_token(cast: Cast) -> None:
    cast.emu.expire_token("bob-token")
    assert cast.emu.call(cast.bob, "GET", "/people/me")[0] == 401
    assert cast.emu.call(cast.alice, "GET", "/people/me")[0] == 200


def test_deleting_the_person_ends_the_grant(cast: Cast) -> None:
    cast.emu.add_oauth_client(CLIENT_ID, CLIENT_SECRET)
    access, refresh = cast.emu.grant(CLIENT_ID, cast.bob)
    assert cast.emu.call(cast.admin, "DELETE", f"/people/{cast.bob.id}")[0] == 204
    assert cast.emu.call(access, "GET", "/people/me")[0] == 401
    _oauth_error(_refresh(cast, refresh), 400, "invalid_grant")


def test_webexpythonsdk_refreshes_and_uses_the_new_token(cast: Cast) -> None:
    access, refresh = _granted(cast)
    base = cast.emu.base_url + "/"
    sdk = WebexAPI(access_token=access, base_url=base, single_request_timeout=10)
    assert sdk.people.me().id == cast.admin.id
    cast.emu.expire_token(access)
    with pytest.raises(ApiError) as expired:
        sdk.people.me()
    assert expired.value.status_code == 401

    token = sdk.access_tokens.refresh(CLIENT_ID, CLIENT_SECRET, refresh)
    assert token.refresh_token == refresh and token.expires_in == 1209599
    assert token.refresh_token_expires_in == 7776000 and token.access_token != access
    fresh = WebexAPI(access_token=token.access_token, base_url=base, single_request_timeout=10)
    assert fresh.people.me().id == cast.admin.id
    assert fresh.people.get(cast.alice.id).displayName == "Alice Adler"

    with pytest.raises(ApiError) as refused:
        sdk.access_tokens.refresh(CLIENT_ID, "wrong-secret", refresh)
    assert refused.value.status_code == 401 and "invalid_client" in str(refused.value)
    assert cast.emu.refreshes == 1
    assert cast.emu.spec_violations == []
