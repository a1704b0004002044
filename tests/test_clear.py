"""The presence_bridge.clear action: back to each provider's automatic state."""

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
import pytest

from custom_components.presence_bridge.const import DOMAIN

from .conftest import advance
from .fake_msgraph import FakeGraph
from .fake_vonage import BREAK_ID, READY_ID, FakeVonage
from .fake_zoom import FakeZoom
from .fake_zulip import FakeZulip
from .providers import ProviderCase
from .test_expiry import call, graph_actions, zulip_posts


@pytest.mark.parametrize("case", ["zoom"], indirect=True)
async def test_clear_zoom_sets_available(
    hass: HomeAssistant, case: ProviderCase, freezer: FrozenDateTimeFactory
) -> None:
    """Zoom has no automatic state: Available; the answer says sent."""
    fake = case.fake
    assert isinstance(fake, FakeZoom)
    await case.wish(hass, "away")
    await advance(hass, freezer, 61)
    response = await call(hass, "clear", entity_id=case.entity_id)
    assert response == {case.entity_id: {"result": "sent"}}
    assert [r.body for r in fake.api_requests("PUT")] == [
        {"status": "Away"},
        {"status": "Available"},
    ]
    assert hass.states.get(case.entity_id).state == "available"


@pytest.mark.parametrize("case", ["vonage"], indirect=True)
async def test_clear_vonage_sets_the_ready_definition(
    hass: HomeAssistant, case: ProviderCase
) -> None:
    """Vonage: the account's definition of category Ready."""
    fake = case.fake
    assert isinstance(fake, FakeVonage)
    await case.wish(hass, "Break")
    response = await call(hass, "clear", entity_id=case.entity_id)
    assert response == {case.entity_id: {"result": "sent"}}
    assert [r.body for r in fake.api_requests("PATCH")] == [
        {"presenceId": BREAK_ID},
        {"presenceId": READY_ID},
    ]
    assert fake.agents[case.person_id]["presenceId"] == READY_ID
    assert hass.states.get(case.entity_id).state == "Ready"


@pytest.mark.parametrize("case", ["msgraph"], indirect=True)
async def test_clear_graph_hands_back_to_teams(hass: HomeAssistant, case: ProviderCase) -> None:
    """Teams: clearUserPreferredPresence, and our presence session ends (clearPresence)."""
    fake = case.fake
    assert isinstance(fake, FakeGraph)
    await case.wish(hass, "busy")
    assert [name for name, _ in graph_actions(fake)] == ["setUserPreferredPresence", "setPresence"]
    await call(hass, "clear", entity_id=case.entity_id)
    assert [name for name, _ in graph_actions(fake)[2:]] == [
        "clearUserPreferredPresence",
        "clearPresence",
    ]
    user = fake.users[case.person_id]
    assert user.preferred is None
    assert not user.sessions
    assert hass.states.get(case.entity_id).state == "automatic"


@pytest.mark.parametrize("case", ["zulip"], indirect=True)
async def test_clear_zulip_empties_the_status_once_per_person(
    hass: HomeAssistant, case: ProviderCase
) -> None:
    """Zulip: an empty status (text and emoji). The device target reaches the Status text
    and the Status preset, which share one status: one POST, both answer it."""
    fake = case.fake
    assert isinstance(fake, FakeZulip)
    await call(
        hass,
        "set_status_message",
        entity_id=case.entity_id,
        message="Vacationing",
        emoji="palm_tree",
    )
    entity = er.async_get(hass).async_get(case.entity_id)
    assert entity is not None
    preset = "select.grace_hopper_status_preset"
    response = await call(hass, "clear", device_id=entity.device_id)
    assert response == {case.entity_id: {"result": "sent"}, preset: {"result": "sent"}}
    assert zulip_posts(fake)[1:] == [
        {"status_text": "", "emoji_name": "", "emoji_code": "", "reaction_type": ""}
    ]
    assert hass.states.get(case.entity_id).state == ""
    assert hass.states.get(preset).state == "none"


@pytest.mark.parametrize("case", ["zoom"], indirect=True)
async def test_clear_cancels_a_pending_revert(
    hass: HomeAssistant, case: ProviderCase, freezer: FrozenDateTimeFactory
) -> None:
    """Cleared before the away ends: nothing is restored afterwards."""
    fake = case.fake
    assert isinstance(fake, FakeZoom)
    fake.users[case.person_id].status = "On_A_Call"
    await advance(hass, freezer, 60)
    await call(
        hass,
        "set_presence",
        entity_id=case.entity_id,
        presence="away",
        expires_after={"minutes": 10},
    )
    assert hass.states.get(case.entity_id).attributes["restores_to"] == "on_a_call"
    await advance(hass, freezer, 120)
    await call(hass, "clear", entity_id=case.entity_id)
    assert hass.states.get(case.entity_id).attributes["expires_at"] is None
    await advance(hass, freezer, 3600)
    assert [r.body for r in fake.api_requests("PUT")] == [
        {"status": "Away"},
        {"status": "Available"},
    ]


@pytest.mark.parametrize("case", ["zoom"], indirect=True)
async def test_clear_refuses_what_is_not_ours(hass: HomeAssistant, case: ProviderCase) -> None:
    """A target of another integration is a translated error, and nothing is sent."""
    hass.states.async_set("select.somebody_else", "x")
    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, "clear", entity_id=["select.somebody_else", case.entity_id])
    assert raised.value.translation_key == "not_clearable"
    fake: Any = case.fake
    assert fake.api_requests("PUT") == []
    assert DOMAIN in hass.services.async_services()


@pytest.mark.parametrize("case", ["vonage"], indirect=True)
async def test_clear_without_a_ready_definition_is_an_error(
    hass: HomeAssistant, case: ProviderCase, freezer: FrozenDateTimeFactory
) -> None:
    """No selectable definition of category Ready: a translated error, nothing sent."""
    fake = case.fake
    assert isinstance(fake, FakeVonage)
    fake.set_definition_selectable(READY_ID, False)
    await advance(hass, freezer, 61)  # a poll reads the definitions again
    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, "clear", entity_id=case.entity_id)
    assert raised.value.translation_key == "clear_not_supported"
    assert fake.api_requests("PATCH") == []
