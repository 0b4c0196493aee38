"""`intercept-bot check`: everything the bot needs, checked once, one line each (`bot.ops.Finding`).

The bot token (who the bot is), the admin token (who, and with `--person EMAIL` that it can read
that person's intercept settings), the approvers (each known to Webex), the approval space
(reachable, the bot a member), the database (reachable; its schema through `bot.ops.schema_state`)
and the two webhooks (registered, active, with the secret, pointing at `--url`). It only reads:
nothing is created or changed, in Webex or in the database. Secrets are never printed.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator
from typing import Any

from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.adapters.admin_token import OPERATION as REFRESH
from bot.adapters.store import SqlStores
from bot.adapters.webex import RetryPolicy, WebexClient
from bot.config import Config
from bot.domain.model import Person
from bot.domain.ports import WebexError
from bot.ops import Finding, schema_state

WEBHOOKS = ("messages", "attachmentActions")  # each with event "created"


def client(config: Config) -> WebexClient:
    """A client that gives up soon: a preflight should answer in seconds."""
    return WebexClient(api_url=config.api_url, bot_token=config.bot_token, admin_token=config.admin_token,
                       org_id=config.org_id, admin_refresh=config.admin_refresh, timeout=10,
                       retry=RetryPolicy(budget=10.0, attempts=3))


def run(config: Config, *, person: str | None, url: str | None, webex: WebexClient | None = None
        ) -> Iterator[Finding]:
    webex = webex or client(config)
    finding, bot = _bot_token(config, webex)
    yield finding
    yield from _admin(config, webex, person)
    if bot is None:
        yield Finding(None, "approvers, approval space, webhooks", "not checked: the bot token does not work")
    else:
        yield from _approvers(config, webex)
        yield _approval_space(config, webex, bot)
        yield from _webhooks(config, webex, url)
    yield from _database(config)


def _webex_failure(what: str, error: WebexError, config: Config, variable: str) -> Finding:
    if error.operation == REFRESH and error.status is not None:
        return Finding(False, what, f"Webex refused the refresh token (HTTP {error.status}: {error.message})",
                       "check WEBEX_ADMIN_REFRESH_TOKEN, WEBEX_CLIENT_ID and WEBEX_CLIENT_SECRET")
    if error.status is None:
        said = error.message if error.message.startswith("Webex did not answer") else \
            f"Webex did not answer ({error.message})"
        return Finding(False, what, said,
                       f"check WEBEX_API_URL={config.api_url} and the network")
    if error.status in (401, 403):
        return Finding(False, what, f"refused by Webex (HTTP {error.status}: {error.message})", f"check {variable}")
    return Finding(False, what, f"Webex answered HTTP {error.status}: {error.message}",
                   "try again; if it persists, see the Webex status page")


def _who(person: Person) -> str:
    return f"{person.display_name} ({person.email})"


def _bot_token(config: Config, webex: WebexClient) -> tuple[Finding, Person | None]:
    try:
        me = webex.me()
    except WebexError as error:
        return _webex_failure("bot token", error, config, "WEBEX_BOT_TOKEN"), None
    if me.type != "bot":
        return Finding(False, "bot token", f"belongs to {_who(me)}, a {me.type}, not a bot",
                       "set WEBEX_BOT_TOKEN to the bot's access token (developer.webex.com > My Apps)"), me
    return Finding(True, "bot token", _who(me)), me


def _admin(config: Config, webex: WebexClient, email: str | None) -> Iterator[Finding]:
    try:
        admin = webex.admin_me()
    except WebexError as error:
        yield _webex_failure("admin token", error, config, "WEBEX_ADMIN_TOKEN")
        yield Finding(None, "intercept settings", "not checked: the admin token does not work")
        return
    expires_in = webex.admin_token.expires_in()
    valid = f", got with the refresh token, valid for {expires_in / 3600:.1f} h" if expires_in is not None else ""
    yield Finding(True, "admin token", _who(admin) + valid)
    if not email:
        yield Finding(None, "intercept settings", "give --person EMAIL (a Webex Calling user) to check that the "
                                                  "admin token can read them")
        return
    yield _intercept(config, webex, email)


def _intercept(config: Config, webex: WebexClient, email: str) -> Finding:
    what = "intercept settings"
    try:
        found = webex.people_by_email(email, admin=True)
        if not found:
            return Finding(False, what, f"the admin token finds nobody with the address {email}",
                           "check --person (and WEBEX_ORG_ID for a partner admin)")
        settings = webex.get_intercept(found[0].id)
    except WebexError as error:
        if error.status == 403:
            return Finding(False, what, f"the admin token may not read those of {email} (HTTP 403)",
                           "use an admin or service-app token with spark-admin:people_read and "
                           "spark-admin:people_write (WEBEX_ADMIN_TOKEN)")
        if error.status == 404:
            return Finding(False, what, f"Webex has none for {email} (HTTP 404: {error.message})",
                           "is the person a Webex Calling user? (a partner admin sets WEBEX_ORG_ID)")
        return _webex_failure(what, error, config, "WEBEX_ADMIN_TOKEN")
    state = "on" if settings.enabled else "off"
    return Finding(True, what, f"readable for {_who(found[0])}: intercept {state}")


def _approvers(config: Config, webex: WebexClient) -> Iterator[Finding]:
    if not config.approvers:
        yield Finding(None, "approvers", "INTERCEPT_APPROVERS is not set: the organisation's administrators "
                                         "decide in the approval space")
    for email in sorted(config.approvers):
        what = f"approver {email}"
        try:
            found = webex.people_by_email(email)
        except WebexError as error:
            yield _webex_failure(what, error, config, "WEBEX_BOT_TOKEN")
            continue
        if found:
            yield Finding(True, what, found[0].display_name)
        else:
            yield Finding(False, what, "Webex knows nobody with this address", "correct INTERCEPT_APPROVERS")


def _approval_space(config: Config, webex: WebexClient, bot: Person) -> Finding:
    what = "approval space"
    room_id = config.approval_room_id
    if not room_id:
        return Finding(None, what, "INTERCEPT_APPROVAL_ROOM_ID is not set: approval cards go to the approvers only")
    try:
        room = webex.room(room_id)
        member = webex.is_member(room_id, bot.id)
    except WebexError as error:
        if error.status == 404:
            return Finding(False, what, "Webex does not show the bot this space (HTTP 404): it does not exist "
                                        "or the bot is not a member",
                           "add the bot to the space, or correct INTERCEPT_APPROVAL_ROOM_ID")
        return _webex_failure(what, error, config, "WEBEX_BOT_TOKEN")
    title = str(room.get("title") or room_id)
    if not member:
        return Finding(False, what, f"{title}: the bot is not a member", "add the bot to the space")
    return Finding(True, what, f"{title} (the bot is a member)")


def _webhooks(config: Config, webex: WebexClient, url: str | None) -> Iterator[Finding]:
    try:
        hooks = webex.webhooks()
    except WebexError as error:
        yield _webex_failure("webhooks", error, config, "WEBEX_BOT_TOKEN")
        return
    for resource in WEBHOOKS:
        kind = [h for h in hooks if h.get("resource") == resource and h.get("event") == "created"]
        yield _webhook(f"webhook {resource}/created", kind, url, config.webhook_secret)


def _webhook(what: str, kind: list[dict[str, Any]], url: str | None, secret: str) -> Finding:
    register = f"run intercept-bot register-webhooks --url {url or 'https://<your host>/webhooks/webex'}"
    if not kind:
        return Finding(False, what, "not registered", register)
    targets = sorted({str(h.get("targetUrl")) for h in kind})
    chosen = [h for h in kind if h.get("targetUrl") == url] if url else kind
    if not chosen:
        return Finding(False, what, f"delivers to {', '.join(targets)}, not to {url}", register)
    hook = next((h for h in chosen if h.get("status") == "active"), chosen[0])
    target = str(hook.get("targetUrl"))
    if hook.get("status") != "active":
        return Finding(False, what, f"{hook.get('status')} (Webex disables a webhook after failed deliveries), "
                                    f"delivers to {target}", register)
    if not hmac.compare_digest(str(hook.get("secret") or "").encode(), secret.encode()):
        return Finding(False, what, f"delivers to {target} without WEBEX_WEBHOOK_SECRET as its secret: the bot "
                                    "would refuse its deliveries", register)
    others = [t for t in targets if t != target]
    detail = f"active, delivers to {target}" + (f" (and to {', '.join(others)})" if others else "")
    return Finding(True, what, detail + ("" if url else "; give --url to check it is this bot's address"))


def _database(config: Config) -> Iterator[Finding]:
    url = make_url(config.database_url)
    shown = url.render_as_string(hide_password=True)
    path = url.database if url.get_backend_name() == "sqlite" else None
    if path and path != ":memory:" and not os.path.exists(path):
        folder = os.path.dirname(os.path.abspath(path))
        if os.access(folder, os.W_OK):
            yield Finding(True, "database", f"{shown}: no file yet, intercept-bot serve creates it")
        else:
            yield Finding(False, "database", f"{shown}: no file, and {folder} is not writable",
                          "correct DATABASE_URL, or make the folder writable")
        yield Finding(None, "database schema", "not checked: no database yet")
        return
    stores = SqlStores.at(config.database_url)
    try:
        yield from _reachable(stores, shown, url.password)
    finally:
        stores.engine.dispose()


def _reachable(stores: SqlStores, shown: str, password: object) -> Iterator[Finding]:
    try:
        stores.ping()
    except SQLAlchemyError as error:
        text = str(getattr(error, "orig", None) or error).splitlines()[0]
        if password:
            text = text.replace(str(password), "***")
        yield Finding(False, "database", f"cannot connect to {shown}: {text}",
                      "check DATABASE_URL and that the database server runs")
        yield Finding(None, "database schema", "not checked: the database is not reachable")
        return
    yield Finding(True, "database", f"reachable ({shown})")
    yield schema_state(stores.engine)
