"""The presence_bridge.set_presence action."""

from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.presence_bridge.const import CONF_USER_ID, DOMAIN, SUBENTRY_USER

from .conftest import ALICE_ID, BOB_ID
from .fake_zoom import FakeZoom

ALICE = "select.alice_archer_presence"
BOB = "select.bob_baker_presence"


@pytest.fixture
async def two_people(
    hass: HomeAssistant, zoom_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> MockConfigEntry:
    """The Zoom entry controlling Alice and Bob."""
    zoom_entry.add_to_hass(hass)
    hass.config_entries.async_add_subentry(
        zoom_entry,
        ConfigSubentry(
            data={CONF_USER_ID: BOB_ID},
            subentry_type=SUBENTRY_USER,
            title="Bob Baker",
            unique_id=BOB_ID,
        ),
    )
    assert await hass.config_entries.async_setup(zoom_entry.entry_id)
    await hass.async_block_till_done()
    return zoom_entry


async def set_presence(
    hass: HomeAssistant, targets: list[str], **fields: object
) -> dict[str, object]:
    """Call the action with a response."""
    return await hass.services.async_call(
        DOMAIN,
        "set_presence",
        {ATTR_ENTITY_ID: targets, **fields},
        blocking=True,
        return_response=True,
    )


@pytest.mark.usefixtures("two_people")
async def test_sets_every_target(hass: HomeAssistant, fake_zoom: FakeZoom) -> None:
    """Both people get one PUT each, with the duration given, and the answer says sent."""
    response = await set_presence(hass, [ALICE, BOB], presence="do_not_disturb", duration=45)
    assert response == {ALICE: {"result": "sent"}, BOB: {"result": "sent"}}
    assert sorted((r.path, str(r.body)) for r in fake_zoom.api_requests("PUT")) == [
        (f"/v2/users/{ALICE_ID}/presence_status", "{'status': 'Do_Not_Disturb', 'duration': 45}"),
        (f"/v2/users/{BOB_ID}/presence_status", "{'status': 'Do_Not_Disturb', 'duration': 45}"),
    ]
    assert hass.states.get(ALICE).state == "do_not_disturb"
    assert hass.states.get(BOB).state == "do_not_disturb"


@pytest.mark.usefixtures("two_people")
async def test_second_change_is_queued(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """Inside Zoom's one-minute window the answer says when the change will go out."""
    await set_presence(hass, [ALICE], presence="away")
    freezer.tick(timedelta(seconds=10))
    response = await set_presence(hass, [ALICE], presence="available")
    sent_at = fake_zoom.clock() - 10
    assert response[ALICE]["result"] == "queued"
    queued_for = response[ALICE]["send_at"]
    assert abs(_timestamp(queued_for) - (sent_at + 60)) < 1


def _timestamp(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()


@pytest.mark.usefixtures("two_people")
async def test_bad_presence_sends_nothing(hass: HomeAssistant, fake_zoom: FakeZoom) -> None:
    """An option the targets do not have, and no shared value, is refused, naming it and the
    valid ones."""
    with pytest.raises(ServiceValidationError) as err:
        await set_presence(hass, [ALICE, BOB], presence="lunch")
    assert err.value.translation_key == "invalid_presence"
    assert err.value.translation_placeholders["presence"] == "lunch"
    assert "do_not_disturb" in err.value.translation_placeholders["options"]
    assert fake_zoom.api_requests("PUT") == []


@pytest.mark.usefixtures("two_people")
async def test_duration_only_with_do_not_disturb(hass: HomeAssistant, fake_zoom: FakeZoom) -> None:
    """A duration with another presence is refused rather than silently dropped."""
    with pytest.raises(ServiceValidationError) as err:
        await set_presence(hass, [ALICE], presence="away", duration=30)
    assert err.value.translation_key == "duration_not_supported"
    assert fake_zoom.api_requests("PUT") == []


@pytest.mark.usefixtures("two_people")
@pytest.mark.parametrize("duration", [0, 1441])
async def test_duration_range(hass: HomeAssistant, fake_zoom: FakeZoom, duration: int) -> None:
    """Durations outside 1–1440 minutes fail validation before anything is sent."""
    with pytest.raises(vol_invalid()):
        await set_presence(hass, [ALICE], presence="do_not_disturb", duration=duration)
    assert fake_zoom.api_requests("PUT") == []


def vol_invalid() -> type[Exception]:
    import voluptuous as vol

    return vol.Invalid


@pytest.mark.usefixtures("two_people")
async def test_one_target_failing(hass: HomeAssistant, fake_zoom: FakeZoom) -> None:
    """One person not signed in: the other is still set, and the answer says which failed."""
    fake_zoom.users[BOB_ID].signed_in = False
    response = await set_presence(hass, [ALICE, BOB], presence="away")
    assert response[ALICE] == {"result": "sent"}
    assert response[BOB]["result"] == "error"
    assert "not signed in" in response[BOB]["error"]
    assert fake_zoom.users[ALICE_ID].status == "Away"


@pytest.mark.usefixtures("two_people")
async def test_failure_without_response_raises(hass: HomeAssistant, fake_zoom: FakeZoom) -> None:
    """Called without a response, a failed target raises its translated error."""
    fake_zoom.users[BOB_ID].signed_in = False
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN,
            "set_presence",
            {ATTR_ENTITY_ID: [ALICE, BOB], "presence": "away"},
            blocking=True,
        )
    assert err.value.translation_key == "user_not_signed_in"
    assert fake_zoom.users[ALICE_ID].status == "Away"


async def test_only_presence_selects(hass: HomeAssistant) -> None:
    """A target that is not a Presence select is refused before anything is sent."""
    from homeassistant.components.select import SelectEntity
    from homeassistant.core import ServiceCall

    from custom_components.presence_bridge.services import _async_set_presence

    other = SelectEntity()
    other.entity_id = "select.other"
    call = ServiceCall(hass, DOMAIN, "set_presence", {"presence": "away"})
    with pytest.raises(ServiceValidationError) as err:
        await _async_set_presence([other], call)
    assert err.value.translation_placeholders == {"entity": "select.other"}
