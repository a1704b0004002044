"""`set_presence` with the shared vocabulary: one value, every provider, each target's outcome."""

from collections.abc import AsyncGenerator
from contextlib import AsyncExitStack

from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
import pytest

from custom_components.presence_bridge.const import DOMAIN

from .fake_vonage import LUNCH_ID, READY_ID
from .providers import (
    ProviderCase,
    async_set_up,
    entry_of,
    msgraph_case,
    vonage_case,
    zoom_case,
    zulip_case,
)

ZOOM = "select.alice_archer_presence"
VONAGE = "select.ada_lovelace_presence"
TEAMS = "select.grace_hopper_presence"
ZULIP_PRESET = "select.grace_hopper_status_preset"


@pytest.fixture
async def cases(
    hass: HomeAssistant, socket_enabled: None
) -> AsyncGenerator[dict[str, ProviderCase]]:
    """One loaded entry of each provider, one person each."""
    cases = {case.name: case for case in (zoom_case(), vonage_case(), msgraph_case(), zulip_case())}
    async with AsyncExitStack() as stack:
        for case in cases.values():
            await stack.enter_async_context(case.fake)
            await async_set_up(hass, case.entry())
        yield cases


async def set_presence(hass: HomeAssistant, targets: list[str], presence: str) -> dict:
    """Call the action and return each target's answer."""
    return await hass.services.async_call(
        DOMAIN,
        "set_presence",
        {ATTR_ENTITY_ID: targets, "presence": presence},
        blocking=True,
        return_response=True,
    )


async def test_one_shared_value_moves_every_provider(
    hass: HomeAssistant, cases: dict[str, ProviderCase]
) -> None:
    """`in_a_meeting`: Zoom's calendar event, Zulip's meeting preset; Teams refuses this time
    (its error is its answer), and VCC, without a meeting definition, answers unsupported
    with what it can take. The others are sent all the same."""
    cases["msgraph"].fake.fail_next.append(cases["msgraph"].refusal())
    answers = await set_presence(hass, [ZOOM, VONAGE, TEAMS, ZULIP_PRESET], "in_a_meeting")
    assert answers[ZOOM] == {"result": "sent"}
    assert answers[ZULIP_PRESET] == {"result": "sent"}
    assert answers[TEAMS]["result"] == "error"
    assert answers[VONAGE]["result"] == "unsupported"
    supported = answers[VONAGE]["supported"]
    assert supported[:4] == ["Ready", "Break", "Lunch", "Logged Out"]  # its own, then shared
    assert {"available", "away", "offline"} <= set(supported[4:])
    assert "in_a_meeting" not in supported
    assert cases["zoom"].sent() == [{"status": "In_Calendar_Event"}]
    assert cases["zulip"].sent()[-1] == {
        "status_text": "In a meeting",
        "emoji_name": "calendar",
        "emoji_code": "1f4c5",
        "reaction_type": "unicode_emoji",
    }
    assert cases["vonage"].sent() == []
    assert hass.states.get(ZOOM).state == "in_calendar_event"
    assert hass.states.get(VONAGE).state == "Ready"


async def test_away_for_every_provider(hass: HomeAssistant, cases: dict[str, ProviderCase]) -> None:
    """`away` is Zoom's and Teams' own option, VCC's first away definition (Break); Zulip
    has no preset that says it without inventing a reason."""
    answers = await set_presence(hass, [ZOOM, VONAGE, TEAMS, ZULIP_PRESET], "away")
    assert [answers[t]["result"] for t in (ZOOM, VONAGE, TEAMS)] == ["sent"] * 3
    assert answers[ZULIP_PRESET]["result"] == "unsupported"
    assert cases["zoom"].holds() == "away"
    assert cases["vonage"].holds() == "Break"
    assert cases["msgraph"].holds() == "away"


async def test_a_shared_value_no_target_takes_sends_nothing(
    hass: HomeAssistant, cases: dict[str, ProviderCase]
) -> None:
    """Zoom cannot show offline: the action is refused, naming what the target can take."""
    with pytest.raises(ServiceValidationError) as err:
        await set_presence(hass, [ZOOM], "offline")
    assert err.value.translation_key == "presence_not_supported"
    assert err.value.translation_placeholders["presence"] == "offline"
    assert "in_calendar_event" in err.value.translation_placeholders["options"]
    assert "in_a_meeting" in err.value.translation_placeholders["options"]
    assert cases["zoom"].sent() == []


async def test_a_providers_own_value_for_another_provider_sends_nothing(
    hass: HomeAssistant, cases: dict[str, ProviderCase]
) -> None:
    """Zoom's own `in_a_zoom_meeting` is no shared value: with a Teams person among the
    targets, nobody is sent anything."""
    with pytest.raises(ServiceValidationError) as err:
        await set_presence(hass, [ZOOM, TEAMS], "in_a_zoom_meeting")
    assert err.value.translation_key == "invalid_presence"
    assert err.value.translation_placeholders["entity"] == TEAMS
    assert cases["zoom"].sent() == []
    assert cases["msgraph"].sent() == []


async def test_the_account_chooses_what_a_shared_value_sets(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """VCC `away` set to the account's "Lunch" in the options, instead of Break."""
    case = vonage_case()
    async with case.fake:
        entry = entry_of(
            case.fake,
            title=case.title,
            unique_id=case.unique_id,
            people={case.person_id: case.person_name},
            options={"vocabulary": {"away": "Lunch"}},
        )
        await async_set_up(hass, entry)
        answers = await set_presence(hass, [VONAGE], "away")
        assert answers[VONAGE] == {"result": "sent"}
        assert case.sent() == [{"presenceId": LUNCH_ID}]


async def test_available_moves_all_four(
    hass: HomeAssistant, cases: dict[str, ProviderCase]
) -> None:
    """One action, one shared value, every provider: Zoom and Teams Available, VCC Ready, and
    Zulip's status cleared (its preset for plain available)."""
    answers = await set_presence(hass, [ZOOM, VONAGE, TEAMS, ZULIP_PRESET], "available")
    assert {answer["result"] for answer in answers.values()} == {"sent"}
    assert cases["zoom"].sent() == [{"status": "Available"}]
    assert cases["vonage"].sent() == [{"presenceId": READY_ID}]
    assert cases["msgraph"].holds() == "available"
    assert cases["zulip"].sent()[-1]["status_text"] == ""


async def test_a_device_reaches_a_zulip_persons_status_preset(
    hass: HomeAssistant, cases: dict[str, ProviderCase]
) -> None:
    """A Zulip person's device as the target: their Status preset select takes the shared
    value (the only select of the device), and nothing else of the device is asked."""
    device_id = er.async_get(hass).async_get(ZULIP_PRESET).device_id
    answers = await hass.services.async_call(
        DOMAIN,
        "set_presence",
        {"device_id": device_id, "presence": "in_a_meeting"},
        blocking=True,
        return_response=True,
    )
    assert answers == {ZULIP_PRESET: {"result": "sent"}}
    assert cases["zulip"].sent()[-1]["status_text"] == "In a meeting"
