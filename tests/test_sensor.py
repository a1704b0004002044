"""The Availability sensor: every provider's reported presence in the shared vocabulary."""

from collections.abc import Callable

from aiohttp import web
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.const import ATTR_DEVICE_CLASS, ATTR_ENTITY_ID, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.presence_bridge.api import Availability

from .conftest import advance
from .fake_msgraph import FakeGraph
from .fake_vonage import BREAK_ID, EXTENDED_AWAY_ID, LOGGED_OUT_ID, LUNCH_ID, FakeVonage
from .fake_zoom import FakeZoom
from .fake_zulip import SUGGESTED_STATUS_FORMS, FakeZulip
from .providers import ProviderCase

type Report = Callable[[ProviderCase], None]


def zoom(status: str) -> Report:
    """Zoom reports `status`."""

    def report(case: ProviderCase) -> None:
        assert isinstance(case.fake, FakeZoom)
        case.fake.users[case.person_id].status = status

    return report


def vonage(presence_id: str) -> Report:
    """VCC reports the definition `presence_id`."""

    def report(case: ProviderCase) -> None:
        assert isinstance(case.fake, FakeVonage)
        case.fake.agents[case.person_id]["presenceId"] = presence_id

    return report


def vonage_new(name: str, category: str) -> Report:
    """VCC reports a definition added in the Admin Portal."""

    def report(case: ProviderCase) -> None:
        assert isinstance(case.fake, FakeVonage)
        case.fake.agents[case.person_id]["presenceId"] = case.fake.add_definition(name, category)

    return report


def graph(availability: str, activity: str) -> Report:
    """Graph reports `availability` and `activity` (a Teams client is signed in)."""

    def report(case: ProviderCase) -> None:
        assert isinstance(case.fake, FakeGraph)
        case.fake.add_session(case.person_id, availability, activity)

    return report


def zulip(status: dict[str, str]) -> Report:
    """Zulip reports `status`."""

    def report(case: ProviderCase) -> None:
        assert isinstance(case.fake, FakeZulip)
        case.fake.users[int(case.person_id)].status = dict(status)

    return report


def preset(name: str) -> Report:
    """Zulip reports one of its suggested statuses."""
    return zulip(SUGGESTED_STATUS_FORMS[name])


READINGS: dict[str, list[tuple[Report, str, str | None]]] = {
    "zoom": [
        (zoom("Available"), "available", "Available"),
        (zoom("Away"), "away", "Away"),
        (zoom("Do_Not_Disturb"), "do_not_disturb", "Do_Not_Disturb"),
        (zoom("In_Calendar_Event"), "in_a_meeting", "In_Calendar_Event"),
        (zoom("In_A_Zoom_Meeting"), "in_a_meeting", "In_A_Zoom_Meeting"),
        (zoom("Presenting"), "presenting", "Presenting"),
        (zoom("On_A_Call"), "on_a_call", "On_A_Call"),
        (zoom("Busy"), "busy", "Busy"),
        (zoom("Out_of_Office"), "away", "Out_of_Office"),
        (zoom("Offline"), "offline", "Offline"),
        (zoom("Mobile_Signed_In"), "unknown", "Mobile_Signed_In"),
    ],
    "vonage": [
        (vonage(BREAK_ID), "away", "Break"),
        (vonage(LUNCH_ID), "away", "Lunch"),
        (vonage(EXTENDED_AWAY_ID), "away", "Extended away"),
        (vonage(LOGGED_OUT_ID), "offline", "Logged Out"),
        (vonage_new("Team meeting", "Away"), "in_a_meeting", "Team meeting"),
        (vonage_new("Presentation", "ExtendedAway"), "presenting", "Presentation"),
        (vonage_new("Outbound calls", "Away"), "on_a_call", "Outbound calls"),
        (vonage_new("BRB", "Away"), "be_right_back", "BRB"),
        (vonage_new("DND", "Away"), "do_not_disturb", "DND"),
        (vonage_new("Busy", "Away"), "busy", "Busy"),
    ],
    "msgraph": [
        (graph("Available", "Available"), "available", "Available"),
        (graph("AvailableIdle", "Inactive"), "away", "AvailableIdle"),
        (graph("Away", "Away"), "away", "Away"),
        (graph("BeRightBack", "BeRightBack"), "be_right_back", "BeRightBack"),
        (graph("Busy", "Busy"), "busy", "Busy"),
        (graph("Busy", "InAMeeting"), "in_a_meeting", "Busy"),
        (graph("Busy", "InACall"), "on_a_call", "Busy"),
        (graph("Busy", "InAConferenceCall"), "on_a_call", "Busy"),
        (graph("DoNotDisturb", "Presenting"), "presenting", "DoNotDisturb"),
        (graph("DoNotDisturb", "DoNotDisturb"), "do_not_disturb", "DoNotDisturb"),
        (graph("Away", "OutOfOffice"), "away", "Away"),
        (graph("PresenceUnknown", "PresenceUnknown"), "unknown", "PresenceUnknown"),
    ],
    "zulip": [
        (preset("in_a_meeting"), "in_a_meeting", "In a meeting"),
        (preset("commuting"), "away", "Commuting"),
        (preset("out_sick"), "away", "Out sick"),
        (preset("vacationing"), "away", "Vacationing"),
        (preset("working_remotely"), "available", "Working remotely"),
        (zulip({"status_text": "Lunch"}), "unknown", "Lunch"),
        (
            zulip(
                {
                    "status_text": "In a meeting",
                    "emoji_name": "coffee",
                    "emoji_code": "2615",
                    "reaction_type": "unicode_emoji",
                }
            ),
            "unknown",
            "In a meeting",
        ),
        (preset("none"), "unknown", None),
    ],
}
"""What each provider reports, in turn, and the sensor's state and `provider_status` for it."""
INITIAL = {
    "zoom": ("available", "Available"),
    "vonage": ("available", "Ready"),
    "msgraph": ("offline", "Offline"),
    "zulip": ("unknown", None),
}
"""The person's state at setup: Zoom and VCC available, no Teams client (Offline), no status."""


def sensor_of(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    """The one Availability sensor of the entry's person."""
    [entity] = [
        entity
        for entity in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if entity.domain == "sensor"
    ]
    assert entity.unique_id.endswith("_availability")
    assert entity.translation_key == "availability"
    return entity.entity_id


async def test_every_reported_value(
    hass: HomeAssistant,
    provider: ProviderCase,
    provider_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Each value the provider reports shows, at the next poll, as its shared value, with the
    provider's own value as `provider_status`; values that say nothing shared are unknown."""
    entity_id = sensor_of(hass, provider_entry)
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.attributes[ATTR_DEVICE_CLASS] == SensorDeviceClass.ENUM
    assert state.attributes["options"] == [str(value) for value in Availability]
    assert state.name == f"{provider.person_name} Availability"
    seen = [(state.state, state.attributes["provider_status"], state.attributes["stale_since"])]
    for report, _, _ in READINGS[provider.name]:
        report(provider)
        await advance(hass, freezer, 61)
        state = hass.states.get(entity_id)
        assert state is not None
        seen.append((state.state, state.attributes["provider_status"], None))
    assert seen == [
        (*INITIAL[provider.name], None),
        *((shown, raw, None) for _, shown, raw in READINGS[provider.name]),
    ]


WISHES = {
    "zoom": ("select", "select_option", "select.alice_archer_presence", "option", "on_a_call"),
    "vonage": ("select", "select_option", "select.ada_lovelace_presence", "option", "Break"),
    "msgraph": ("select", "select_option", "select.grace_hopper_presence", "option", "busy"),
    "zulip": (
        "select",
        "select_option",
        "select.grace_hopper_status_preset",
        "option",
        "in_a_meeting",
    ),
}
ACCEPTED = {
    "zoom": ("on_a_call", "On_A_Call"),
    "vonage": ("away", "Break"),
    "msgraph": ("busy", "Busy"),
    "zulip": ("in_a_meeting", "In a meeting"),
}


async def test_follows_an_accepted_change_before_the_next_poll(
    hass: HomeAssistant, provider: ProviderCase, provider_entry: MockConfigEntry
) -> None:
    """Once the provider accepted a change made in Home Assistant, the sensor shows it at once
    (for Vonage, by the definition's category, which the answer does not carry)."""
    entity_id = sensor_of(hass, provider_entry)
    domain, service, target, key, value = WISHES[provider.name]
    await hass.services.async_call(
        domain, service, {ATTR_ENTITY_ID: target, key: value}, blocking=True
    )
    state = hass.states.get(entity_id)
    assert state is not None
    assert (state.state, state.attributes["provider_status"]) == ACCEPTED[provider.name]


async def test_unavailable_when_the_person_is_gone(
    hass: HomeAssistant,
    provider: ProviderCase,
    provider_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A person the provider no longer knows has no availability to show."""
    entity_id = sensor_of(hass, provider_entry)
    provider.remove_person()
    await advance(hass, freezer, 61)
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.state == STATE_UNAVAILABLE


@pytest.mark.usefixtures("init_integration")
async def test_stale_since_while_reads_fail(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """While Zoom cannot be read, the last known availability stays, saying since when."""
    fake_zoom.fail_next.extend(web.Response(status=503) for _ in range(3))
    await advance(hass, freezer, 61)
    state = hass.states.get("sensor.alice_archer_availability")
    assert state is not None
    assert (state.state, state.attributes["provider_status"]) == ("available", "Available")
    assert state.attributes["stale_since"] is not None
