"""One description per provider, so that shared behaviour is tested against every provider.

A `ProviderCase` knows its fake, an entry controlling one person, the entity a user's wish goes
to, how to wish for a value, what reached the fake and what the fake now holds, and the
provider's own answers for a refusal and an account-wide rate limit. The `provider` fixture in
`conftest.py` runs a test once per case.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from aiohttp import web
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.presence_bridge.const import DOMAIN, SUBENTRY_USER

from .fake_msgraph import FakeGraph, odata_error
from .fake_server import FakeServer
from .fake_vonage import BREAK_ID, LUNCH_ID, READY_ID, FakeVonage
from .fake_zoom import FakeZoom, ZoomUser
from .fake_zulip import ADMINISTRATOR, FakeZulip

PERSON_SUBENTRY = "01PERSONSUBENTRY000000000"


def entry_of(
    fake: FakeServer,
    *,
    title: str,
    unique_id: str,
    people: Mapping[str, str],
    options: Mapping[str, Any] | None = None,
    subentry_ids: Mapping[str, str] | None = None,
) -> MockConfigEntry:
    """An entry of a fake's account controlling `people` (user id → name): the one builder
    every test uses, whatever the provider."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=unique_id,
        data=fake.entry_data(),
        options=dict(options or {}),
        subentries_data=[
            {
                "data": {"user_id": user_id},
                "subentry_type": SUBENTRY_USER,
                "title": name,
                "unique_id": user_id,
            }
            | ({"subentry_id": subentry_ids[user_id]} if subentry_ids else {})
            for user_id, name in people.items()
        ],
    )


async def async_set_up(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    """Add the entry and set it up."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


@dataclass(kw_only=True)
class ProviderCase:
    """How the shared tests drive one provider."""

    name: str
    fake: FakeServer
    person_id: str
    person_name: str
    entity_id: str
    """The entity a wish goes to: the Presence select, or (Zulip) the Status text."""
    values: tuple[str, str]
    """Two values to wish for, neither of which the person has at the start."""
    set_service: tuple[str, str, str]
    """Domain, action and data key that set the entity to a value."""
    sent: Callable[[], list[Any]]
    """The bodies of every delivery request the fake received, refused ones too."""
    holds: Callable[[], str | None]
    """The value the provider holds for the person now, as the entity names it."""
    refusal: Callable[[], web.Response]
    """The provider's answer refusing a value for good."""
    rate_limit: Callable[[str], web.Response]
    """The provider's account-wide 429, with the given `Retry-After`."""
    revoke: Callable[[], dict[str, str]]
    """Make the stored secret stop working; returns the reauth form input that works."""
    title: str
    unique_id: str
    secrets: Callable[[], list[str]]
    """Values that must never appear in diagnostics: credentials, ids, names."""
    remove_person: Callable[[], object]
    """Make the provider forget the person."""

    def entry(self) -> MockConfigEntry:
        """An entry of this account controlling the one person."""
        return entry_of(
            self.fake,
            title=self.title,
            unique_id=self.unique_id,
            people={self.person_id: self.person_name},
            subentry_ids={self.person_id: PERSON_SUBENTRY},
        )

    async def wish(self, hass: HomeAssistant, value: str) -> None:
        """Set the entity to `value`, as the UI does."""
        domain, service, key = self.set_service
        await hass.services.async_call(
            domain, service, {ATTR_ENTITY_ID: self.entity_id, key: value}, blocking=True
        )


def _clock() -> float:
    """The fakes' clock: Home Assistant's, which tests move with freezer."""
    return dt_util.utcnow().timestamp()


def zoom_case() -> ProviderCase:
    """Zoom: the Presence select, PUT presence_status."""
    fake = FakeZoom(clock=_clock)
    user = fake.add_user(ZoomUser("KdYKjnimT4KPd8FFgQt9FQ", "alice@example.com", "Alice", "Archer"))
    names = {"Away": "away", "On_A_Call": "on_a_call", "Available": "available"}

    def revoke() -> dict[str, str]:
        fake.expire_tokens()
        fake.client_secret = "rotated"
        return {"client_secret": "rotated"}

    return ProviderCase(
        name="zoom",
        fake=fake,
        person_id=user.user_id,
        person_name="Alice Archer",
        entity_id="select.alice_archer_presence",
        values=("away", "on_a_call"),
        set_service=("select", "select_option", "option"),
        sent=lambda: [r.body for r in fake.api_requests("PUT")],
        holds=lambda: names.get(user.status),
        refusal=lambda: web.json_response({"code": 300, "message": "Invalid status"}, status=400),
        rate_limit=lambda retry_after: web.json_response(
            {"code": 429, "message": "Too many requests."},
            status=429,
            headers={"Retry-After": retry_after, "X-RateLimit-Type": "QPS"},
        ),
        revoke=revoke,
        title=f"Zoom {fake.account_id}",
        unique_id=fake.account_id,
        secrets=lambda: [fake.client_secret, fake.account_id, user.user_id, *fake.tokens],
        remove_person=partial(fake.users.pop, user.user_id),
    )


def vonage_case() -> ProviderCase:
    """Vonage Contact Center: the Presence select, PATCH the agent's presence."""
    fake = FakeVonage(clock=_clock)
    guid = fake.add_agent("Ada Lovelace", READY_ID)
    names = {READY_ID: "Ready", BREAK_ID: "Break", LUNCH_ID: "Lunch"}

    def revoke() -> dict[str, str]:
        fake.revoke_tokens()
        fake.client_secret = "rotated"
        return {"client_secret": "rotated"}

    return ProviderCase(
        name="vonage",
        fake=fake,
        person_id=guid,
        person_name="Ada Lovelace",
        entity_id="select.ada_lovelace_presence",
        values=("Break", "Lunch"),
        set_service=("select", "select_option", "option"),
        sent=lambda: [r.body for r in fake.api_requests("PATCH")],
        holds=lambda: names.get(fake.agents[guid]["presenceId"]),
        refusal=lambda: web.json_response({"message": "The request is invalid."}, status=400),
        rate_limit=lambda retry_after: web.json_response(
            {"message": "Too Many Requests"}, status=429, headers={"Retry-After": retry_after}
        ),
        revoke=revoke,
        title="Vonage EMEA vcc-client-id",
        unique_id=f"emea:{fake.client_id}",
        secrets=lambda: [fake.client_secret, fake.client_id, guid],
        remove_person=partial(fake.agents.pop, guid),
    )


def zulip_case() -> ProviderCase:
    """Zulip: an administrator's key sets a colleague's Status text (POST their status)."""
    fake = FakeZulip(clock=_clock)
    ada = fake.add_user("Ada Lovelace", "ada@example.com", role=ADMINISTRATOR, caller=True)
    user_id = fake.add_user("Grace Hopper", "grace@example.com")

    def revoke() -> dict[str, str]:
        fake.caller.api_key = "n" * 32
        return {"api_key": "n" * 32}

    def status_posts() -> list[Any]:
        return [r.body for r in fake.api_requests("POST") if r.path.endswith("/status")]

    return ProviderCase(
        name="zulip",
        fake=fake,
        person_id=str(user_id),
        person_name="Grace Hopper",
        entity_id="text.grace_hopper_status",
        values=("Lunch", "In a meeting"),
        set_service=("text", "set_value", "value"),
        sent=status_posts,
        holds=lambda: fake.users[user_id].status.get("status_text"),
        refusal=lambda: web.json_response(
            {"result": "error", "msg": "Invalid status", "code": "BAD_REQUEST"}, status=400
        ),
        rate_limit=lambda retry_after: web.json_response(
            {"result": "error", "msg": "API usage exceeded rate limit", "code": "RATE_LIMIT_HIT"},
            status=429,
            headers={"Retry-After": retry_after},
        ),
        revoke=revoke,
        title="Zulip ada@example.com",
        unique_id=f"zulip:{ada}",
        secrets=lambda: [fake.caller.api_key, "ada@example.com", "grace@example.com"],
        remove_person=partial(fake.users.pop, user_id),
    )


def msgraph_case() -> ProviderCase:
    """Microsoft Teams (app-only): the Presence select, setUserPreferredPresence."""
    fake = FakeGraph(clock=_clock)
    user_id = fake.add_user("Grace Hopper", "grace@contoso.com")
    names = {"Away": "away", "Busy": "busy", "Available": "available"}

    def revoke() -> dict[str, str]:
        fake.expire_tokens()
        fake.client_secret = "rotated"
        return {"client_secret": "rotated"}

    def holds() -> str | None:
        preferred = fake.users[user_id].preferred
        return names.get(preferred.availability) if preferred else None

    return ProviderCase(
        name="msgraph",
        fake=fake,
        person_id=user_id,
        person_name="Grace Hopper",
        entity_id="select.grace_hopper_presence",
        values=("away", "busy"),
        set_service=("select", "select_option", "option"),
        sent=lambda: [
            r.body
            for r in fake.api_requests("POST")
            if r.path.endswith("/setUserPreferredPresence")
        ],
        holds=holds,
        refusal=lambda: odata_error(400, "BadRequest", "Invalid availability"),
        rate_limit=lambda retry_after: odata_error(
            429, "TooManyRequests", "Too many requests", headers={"Retry-After": retry_after}
        ),
        revoke=revoke,
        title=f"Microsoft Teams {fake.tenant_id}",
        unique_id=f"{fake.tenant_id}:{fake.client_id}",
        secrets=lambda: [fake.client_secret, fake.tenant_id, fake.client_id, user_id, *fake.tokens],
        remove_person=partial(fake.users.pop, user_id),
    )


PROVIDER_CASES: dict[str, Callable[[], ProviderCase]] = {
    "zoom": zoom_case,
    "vonage": vonage_case,
    "zulip": zulip_case,
    "msgraph": msgraph_case,
}
