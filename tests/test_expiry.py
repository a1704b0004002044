"""Expiring wishes: `expires_after` / `until` restore what the person had before."""

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.presence_bridge.const import DOMAIN
from custom_components.presence_bridge.delivery import STORAGE_VERSION

from .conftest import ALICE_SUBENTRY, advance
from .fake_msgraph import FakeGraph
from .fake_zoom import FakeZoom
from .fake_zulip import FakeZulip
from .providers import PERSON_SUBENTRY, ProviderCase, async_set_up
from .test_select import ALICE, puts, select_option

GRACE = "select.grace_hopper_presence"
GRACE_STATUS = "text.grace_hopper_status"


async def call(hass: HomeAssistant, service: str, **data: Any) -> dict[str, Any]:
    """Call one of our actions, with its response."""
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )


def graph_actions(fake: FakeGraph) -> list[tuple[str, Any]]:
    """Graph's presence actions and their bodies, in order."""
    return [
        (r.path.rsplit("/", 1)[1], r.body)
        for r in fake.api_requests("POST")
        if "/presence/" in r.path
    ]


def zulip_posts(fake: FakeZulip) -> list[dict[str, str]]:
    """The status POSTs' forms."""
    return [dict(r.body) for r in fake.api_requests("POST") if r.path.endswith("/status")]


@pytest.mark.usefixtures("init_integration")
async def test_expiry_restores_what_was_reported(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """Away for ten minutes, then Available again (what Zoom reported before), once."""
    response = await call(
        hass, "set_presence", entity_id=ALICE, presence="away", expires_after={"minutes": 10}
    )
    expires_at = dt_util.utcnow() + timedelta(minutes=10)
    assert response == {ALICE: {"result": "sent", "expires_at": expires_at.isoformat()}}
    assert puts(fake_zoom) == [{"status": "Away"}]
    state = hass.states.get(ALICE)
    assert state.state == "away"
    assert state.attributes["expires_at"] == expires_at.isoformat()
    assert state.attributes["restores_to"] == "available"
    await advance(hass, freezer, 599)
    assert puts(fake_zoom) == [{"status": "Away"}]
    await advance(hass, freezer, 1)
    assert puts(fake_zoom) == [{"status": "Away"}, {"status": "Available"}]
    state = hass.states.get(ALICE)
    assert state.state == "available"
    assert state.attributes["expires_at"] is None
    assert state.attributes["restores_to"] is None
    await advance(hass, freezer, 3600)
    assert len(puts(fake_zoom)) == 2


@pytest.mark.usefixtures("init_integration")
async def test_until_takes_a_local_time(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """`until` as Home Assistant's local time (no zone given): the revert comes then."""
    fake_zoom.users[next(iter(fake_zoom.users))].status = "On_A_Call"
    await advance(hass, freezer, 60)  # a poll reads On a call
    until = dt_util.now() + timedelta(minutes=5)
    await call(
        hass,
        "set_presence",
        entity_id=ALICE,
        presence="away",
        until=until.replace(tzinfo=None).isoformat(timespec="seconds"),
    )
    assert hass.states.get(ALICE).attributes["restores_to"] == "on_a_call"
    await advance(hass, freezer, 5 * 60)
    assert puts(fake_zoom) == [{"status": "Away"}, {"status": "On_A_Call"}]


@pytest.mark.usefixtures("init_integration")
async def test_zoom_do_not_disturb_gets_its_native_duration(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """Zoom ends the DND itself after the expiry's minutes (not the default 20); our own
    revert still runs, and sends what was there before."""
    await call(
        hass,
        "set_presence",
        entity_id=ALICE,
        presence="do_not_disturb",
        expires_after={"minutes": 45},
    )
    assert puts(fake_zoom) == [{"status": "Do_Not_Disturb", "duration": 45}]
    await advance(hass, freezer, 45 * 60)
    assert puts(fake_zoom)[1:] == [{"status": "Available"}]


@pytest.mark.usefixtures("init_integration")
async def test_a_newer_wish_drops_the_revert(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """Set meanwhile, On a call wins: nothing is restored when the away expires."""
    await call(
        hass, "set_presence", entity_id=ALICE, presence="away", expires_after={"minutes": 10}
    )
    await advance(hass, freezer, 120)
    await select_option(hass, "on_a_call")
    state = hass.states.get(ALICE)
    assert state.attributes["expires_at"] is None
    assert state.attributes["restores_to"] is None
    await advance(hass, freezer, 3600)
    assert puts(fake_zoom) == [{"status": "Away"}, {"status": "On_A_Call"}]
    assert hass.states.get(ALICE).state == "on_a_call"


@pytest.mark.usefixtures("init_integration")
async def test_a_newer_expiring_wish_restores_the_first_state(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """Away for 10 minutes, then On a call for 5 more: the end restores Available, not Away."""
    await call(
        hass, "set_presence", entity_id=ALICE, presence="away", expires_after={"minutes": 10}
    )
    await advance(hass, freezer, 120)
    await call(
        hass, "set_presence", entity_id=ALICE, presence="on_a_call", expires_after={"minutes": 5}
    )
    assert hass.states.get(ALICE).attributes["restores_to"] == "available"
    await advance(hass, freezer, 5 * 60)
    assert puts(fake_zoom) == [{"status": "Away"}, {"status": "On_A_Call"}, {"status": "Available"}]
    await advance(hass, freezer, 3600)
    assert len(puts(fake_zoom)) == 3


@pytest.mark.usefixtures("init_integration")
async def test_giving_both_expiries_is_an_error(hass: HomeAssistant, fake_zoom: FakeZoom) -> None:
    """`expires_after` and `until` together: a translated error, and nothing is sent."""
    with pytest.raises(ServiceValidationError) as raised:
        await call(
            hass,
            "set_presence",
            entity_id=ALICE,
            presence="away",
            expires_after={"minutes": 10},
            until=(dt_util.now() + timedelta(hours=1)).isoformat(),
        )
    assert raised.value.translation_key == "expiry_conflict"
    assert str(raised.value) == "Give either Expires after or Until, not both"
    assert puts(fake_zoom) == []
    assert hass.states.get(ALICE).attributes["expires_at"] is None


@pytest.mark.usefixtures("init_integration")
async def test_an_expiry_in_the_past_is_an_error(hass: HomeAssistant, fake_zoom: FakeZoom) -> None:
    """An `until` already past sends nothing."""
    with pytest.raises(ServiceValidationError) as raised:
        await call(
            hass,
            "set_presence",
            entity_id=ALICE,
            presence="away",
            until=(dt_util.now() - timedelta(minutes=1)).isoformat(),
        )
    assert raised.value.translation_key == "expiry_not_in_future"
    assert puts(fake_zoom) == []


def stored_revert(
    entry: MockConfigEntry,
    subentry_id: str,
    kind: str,
    *,
    at: float,
    wish: dict[str, Any],
    restores_to: dict[str, Any],
) -> dict[str, Any]:
    """What the Store holds for a person with a pending revert due `at` seconds from now."""
    return {
        "version": STORAGE_VERSION,
        "minor_version": 1,
        "key": f"{DOMAIN}.{entry.entry_id}",
        "data": {
            subentry_id: {
                f"{kind}_revert": {
                    "at": (dt_util.utcnow() + timedelta(seconds=at)).isoformat(),
                    "wish": wish,
                    "restores_to": restores_to,
                }
            }
        },
    }


async def test_a_revert_due_during_a_restart_runs_at_once(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    zoom_entry: MockConfigEntry,
    fake_zoom: FakeZoom,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Stored before the restart, its time passed meanwhile: On a call is restored at setup."""
    hass_storage[f"{DOMAIN}.{zoom_entry.entry_id}"] = stored_revert(
        zoom_entry,
        ALICE_SUBENTRY,
        "presence",
        at=-300,
        wish={"option": "away", "duration": None},
        restores_to={"option": "on_a_call", "duration": None},
    )
    await async_set_up(hass, zoom_entry)
    await advance(hass, freezer, 0)
    assert puts(fake_zoom) == [{"status": "On_A_Call"}]
    state = hass.states.get(ALICE)
    assert state.state == "on_a_call"
    assert state.attributes["expires_at"] is None


async def test_a_stored_revert_still_to_come_waits_for_its_time(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    zoom_entry: MockConfigEntry,
    fake_zoom: FakeZoom,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A revert due in five minutes shows on the entity and runs then; one stored by a
    running entry is in the Store at shutdown."""
    hass_storage[f"{DOMAIN}.{zoom_entry.entry_id}"] = stored_revert(
        zoom_entry,
        ALICE_SUBENTRY,
        "presence",
        at=300,
        wish={"option": "available", "duration": None},
        restores_to={"option": "away", "duration": None},
    )
    await async_set_up(hass, zoom_entry)
    state = hass.states.get(ALICE)
    assert state.attributes["restores_to"] == "away"
    assert state.attributes["expires_at"] == (dt_util.utcnow() + timedelta(seconds=300)).isoformat()
    await advance(hass, freezer, 299)
    assert puts(fake_zoom) == []
    await advance(hass, freezer, 1)
    assert puts(fake_zoom) == [{"status": "Away"}]

    await call(
        hass, "set_presence", entity_id=ALICE, presence="on_a_call", expires_after={"minutes": 30}
    )
    await hass.async_stop(force=True)
    stored = hass_storage[f"{DOMAIN}.{zoom_entry.entry_id}"]["data"][ALICE_SUBENTRY]
    assert stored["presence_revert"] == {
        "at": (dt_util.utcnow() + timedelta(minutes=30)).isoformat(),
        "wish": {"option": "on_a_call", "duration": None},
        "restores_to": {"option": "away", "duration": None},
    }


@pytest.mark.parametrize("case", ["msgraph"], indirect=True)
async def test_graph_preferred_presence_expires_at_graph_too(
    hass: HomeAssistant, case: ProviderCase, freezer: FrozenDateTimeFactory
) -> None:
    """Busy for 30 minutes: Graph gets `expirationDuration` PT30M; at the end the automatic
    presence Grace had (no preferred one) comes back, and the presence session ends."""
    fake = case.fake
    assert isinstance(fake, FakeGraph)
    await call(
        hass, "set_presence", entity_id=GRACE, presence="busy", expires_after={"minutes": 30}
    )
    actions = graph_actions(fake)
    assert actions[0] == (
        "setUserPreferredPresence",
        {"availability": "Busy", "activity": "Busy", "expirationDuration": "PT30M"},
    )
    assert [name for name, _ in actions] == ["setUserPreferredPresence", "setPresence"]
    assert hass.states.get(GRACE).attributes["restores_to"] == "automatic"
    await advance(hass, freezer, 30 * 60)
    assert [name for name, _ in graph_actions(fake)[2:]] == [
        "clearUserPreferredPresence",
        "clearPresence",
    ]
    assert fake.users[case.person_id].preferred is None
    assert hass.states.get(GRACE).state == "automatic"


@pytest.mark.parametrize("case", ["msgraph"], indirect=True)
async def test_graph_status_message_expires_at_graph_too(
    hass: HomeAssistant, case: ProviderCase, freezer: FrozenDateTimeFactory
) -> None:
    """A status message for an hour carries `expiryDateTime` in UTC; then the earlier one is back."""
    fake = case.fake
    assert isinstance(fake, FakeGraph)
    await call(hass, "set_status_message", entity_id=GRACE_STATUS, message="Back at two")
    freezer.tick(timedelta(seconds=5))
    await call(
        hass,
        "set_status_message",
        entity_id=GRACE_STATUS,
        message="At lunch",
        expires_after={"hours": 1},
    )
    until = dt_util.utcnow() + timedelta(hours=1)
    assert graph_actions(fake)[-1] == (
        "setStatusMessage",
        {
            "statusMessage": {
                "message": {"content": "At lunch", "contentType": "text"},
                "expiryDateTime": {
                    "dateTime": until.replace(tzinfo=None).isoformat(timespec="seconds"),
                    "timeZone": "UTC",
                },
            }
        },
    )
    assert hass.states.get(GRACE_STATUS).attributes["restores_to"] == "Back at two"
    await advance(hass, freezer, 3600)
    assert graph_actions(fake)[-1] == (
        "setStatusMessage",
        {"statusMessage": {"message": {"content": "Back at two", "contentType": "text"}}},
    )
    assert hass.states.get(GRACE_STATUS).state == "Back at two"


@pytest.mark.parametrize("case", ["zulip"], indirect=True)
async def test_zulip_status_restores_text_and_emoji(
    hass: HomeAssistant, case: ProviderCase, freezer: FrozenDateTimeFactory
) -> None:
    """A status with an emoji for 30 minutes, then the earlier text and emoji again."""
    fake = case.fake
    assert isinstance(fake, FakeZulip)
    await call(
        hass,
        "set_status_message",
        entity_id=case.entity_id,
        message="Vacationing",
        emoji="palm_tree",
    )
    await call(
        hass,
        "set_status_message",
        entity_id=case.entity_id,
        message="In a meeting",
        emoji="calendar",
        expires_after={"minutes": 30},
    )
    preset = "select.grace_hopper_status_preset"
    assert hass.states.get(preset).attributes["restores_to"] == "Vacationing"
    await advance(hass, freezer, 30 * 60)
    last = zulip_posts(fake)[-1]
    assert (last["status_text"], last["emoji_name"]) == ("Vacationing", "palm_tree")
    assert len(zulip_posts(fake)) == 3
    assert hass.states.get(case.entity_id).state == "Vacationing"
    assert hass.states.get(preset).state == "vacationing"


@pytest.mark.parametrize("case", ["zulip"], indirect=True)
async def test_a_restart_keeps_a_status_revert(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    case: ProviderCase,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A status revert due while Home Assistant was down clears the status at setup."""
    entry = next(iter(hass.config_entries.async_entries(DOMAIN)))
    await hass.config_entries.async_unload(entry.entry_id)
    hass_storage[f"{DOMAIN}.{entry.entry_id}"] = stored_revert(
        entry,
        PERSON_SUBENTRY,
        "status",
        at=-60,
        wish={"text": "Lunch", "emoji_name": None, "emoji_code": None, "reaction_type": None},
        restores_to={"text": "", "emoji_name": "", "emoji_code": "", "reaction_type": ""},
    )
    posts_before = len(zulip_posts(case.fake))  # type: ignore[arg-type]
    assert await hass.config_entries.async_setup(entry.entry_id)
    await advance(hass, freezer, 0)
    posts = zulip_posts(case.fake)[posts_before:]  # type: ignore[arg-type]
    assert posts == [{"status_text": "", "emoji_name": "", "emoji_code": "", "reaction_type": ""}]


@pytest.mark.usefixtures("init_integration")
async def test_do_not_disturb_is_restored_with_the_persons_duration(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """Alice was in Do not disturb: it comes back with her DND duration (20 minutes)."""
    await select_option(hass, "do_not_disturb")
    await advance(hass, freezer, 60)
    await call(
        hass, "set_presence", entity_id=ALICE, presence="on_a_call", expires_after={"minutes": 5}
    )
    assert hass.states.get(ALICE).attributes["restores_to"] == "do_not_disturb"
    await advance(hass, freezer, 5 * 60)
    assert puts(fake_zoom) == [
        {"status": "Do_Not_Disturb", "duration": 20},
        {"status": "On_A_Call"},
        {"status": "Do_Not_Disturb", "duration": 20},
    ]
