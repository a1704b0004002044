"""`presence_bridge_delivery_failed`: a wish that cannot be delivered, for automations."""

from aiohttp import web
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Event, HomeAssistant, ServiceCall
from homeassistant.exceptions import HomeAssistantError
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import async_mock_service

from .conftest import advance
from .fake_zoom import FakeZoom
from .providers import PROVIDER_CASES
from .test_select import ALICE, puts, select_option

EVENT = "presence_bridge_delivery_failed"


@pytest.fixture
async def notified(hass: HomeAssistant) -> list[ServiceCall]:
    """An automation that passes the event's data on to `test.notify`: the calls it made."""
    calls = async_mock_service(hass, "test", "notify")
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "alias": "Tell someone",
                "triggers": [{"trigger": "event", "event_type": EVENT}],
                "actions": [
                    {
                        "action": "test.notify",
                        "data": {
                            key: f"{{{{ trigger.event.data.{key} }}}}"
                            for key in ("entity_id", "provider", "wanted", "error", "error_type")
                        },
                    }
                ],
            }
        },
    )
    return calls


@pytest.mark.usefixtures("init_integration")
async def test_a_queued_change_refused_for_good_triggers_an_automation(
    hass: HomeAssistant,
    fake_zoom: FakeZoom,
    freezer: FrozenDateTimeFactory,
    notified: list[ServiceCall],
) -> None:
    """On a call waits for Zoom's minute, then Zoom refuses it: the automation runs with the
    event's data, and the entity keeps the error until the next delivery succeeds."""
    await select_option(hass, "away")
    await select_option(hass, "on_a_call")
    fake_zoom.fail_next.append(PROVIDER_CASES["zoom"]().refusal())
    assert notified == []
    await advance(hass, freezer, 61)
    assert len(notified) == 1
    assert notified[0].data == {
        "entity_id": ALICE,
        "provider": "zoom",
        "wanted": "on_a_call",
        "error": notified[0].data["error"],
        "error_type": "InvalidRequestError",
    }
    assert "Invalid status" in notified[0].data["error"]
    error = hass.states.get(ALICE).attributes["last_delivery_error"]
    assert error is not None
    assert error == notified[0].data["error"]
    await advance(hass, freezer, 120)
    assert hass.states.get(ALICE).attributes["last_delivery_error"] == error

    await select_option(hass, "available")
    assert puts(fake_zoom)[-1] == {"status": "Available"}
    assert hass.states.get(ALICE).attributes["last_delivery_error"] is None
    assert len(notified) == 1


@pytest.mark.usefixtures("init_integration")
async def test_an_immediate_refusal_fires_the_event_too(
    hass: HomeAssistant, fake_zoom: FakeZoom
) -> None:
    """Refused at once: the caller gets the error, and the event is fired all the same."""
    events: list[Event] = []
    hass.bus.async_listen(EVENT, events.append)
    fake_zoom.fail_next.append(PROVIDER_CASES["zoom"]().refusal())
    with pytest.raises(HomeAssistantError):
        await select_option(hass, "away")
    await hass.async_block_till_done()
    assert [(e.data["entity_id"], e.data["wanted"]) for e in events] == [(ALICE, "away")]


@pytest.mark.usefixtures("init_integration")
async def test_a_transient_failure_fires_nothing(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """A 503 is retried, not reported as failed for good."""
    events: list[Event] = []
    hass.bus.async_listen(EVENT, events.append)
    fake_zoom.fail_next.append(web.Response(status=503, text="down"))
    await select_option(hass, "away")
    await advance(hass, freezer, 120)
    assert puts(fake_zoom)[-1] == {"status": "Away"}
    assert events == []


@pytest.mark.usefixtures("init_integration")
async def test_a_refused_restore_fires_the_event(
    hass: HomeAssistant,
    fake_zoom: FakeZoom,
    freezer: FrozenDateTimeFactory,
    notified: list[ServiceCall],
) -> None:
    """The presence an expiry restores is refused: the automation hears of it."""
    await hass.services.async_call(
        "presence_bridge",
        "set_presence",
        {"entity_id": ALICE, "presence": "away", "expires_after": {"minutes": 5}},
        blocking=True,
    )
    fake_zoom.fail_next.append(PROVIDER_CASES["zoom"]().refusal())
    await advance(hass, freezer, 5 * 60)
    assert [(call.data["entity_id"], call.data["wanted"]) for call in notified] == [
        (ALICE, "available")
    ]
    state = hass.states.get(ALICE)
    assert state.attributes["expires_at"] is None
    assert state.attributes["last_delivery_error"] is not None
