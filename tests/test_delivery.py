"""Durable delivery: nothing a user asks for is lost across a reload, a restart, an outage or
adding a person, and nothing is sent twice or after the entry is gone."""

import asyncio
from datetime import timedelta
from typing import Any
from unittest.mock import patch

from aiohttp import ClientSession, web
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import area_registry as ar
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
import voluptuous as vol

from custom_components.presence_bridge.const import DOMAIN, SUBENTRY_USER
from custom_components.presence_bridge.delivery import STORAGE_VERSION, DeliveryOutcome

from .conftest import ALICE_ID, ALICE_SUBENTRY, BOB_ID, advance
from .fake_zoom import FakeZoom
from .test_select import ALICE, puts, select_option

BOB = "select.bob_baker_presence"
QPS_LIMIT = {"X-RateLimit-Type": "QPS"}


def stored_wish(entry: MockConfigEntry, wish: str, last_sent_ago: float) -> dict[str, Any]:
    """What the Store holds for an entry whose Alice wants `wish`, sent to `last_sent_ago` s ago."""
    last_sent_at = dt_util.utcnow() - timedelta(seconds=last_sent_ago)
    return {
        "version": STORAGE_VERSION,
        "minor_version": 1,
        "key": f"{DOMAIN}.{entry.entry_id}",
        "data": {
            ALICE_SUBENTRY: {
                "presence": {
                    "wish": {"option": wish, "duration": None},
                    "delivered": {"option": "away", "duration": None},
                    "last_sent_at": last_sent_at.isoformat(),
                    "send_at": None,
                }
            }
        },
    }


async def test_restart_delivers_the_stored_wish_when_its_window_opens(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    zoom_entry: MockConfigEntry,
    fake_zoom: FakeZoom,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A change queued before a restart is sent once, when Zoom's minute has passed."""
    hass_storage[f"{DOMAIN}.{zoom_entry.entry_id}"] = stored_wish(zoom_entry, "on_a_call", 30)
    zoom_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(zoom_entry.entry_id)
    await hass.async_block_till_done()
    state = hass.states.get(ALICE)
    assert state.state == "on_a_call"
    assert state.attributes["pending"] is True
    await advance(hass, freezer, 29)
    assert puts(fake_zoom) == []
    await advance(hass, freezer, 2)
    assert puts(fake_zoom) == [{"status": "On_A_Call"}]
    assert hass.states.get(ALICE).attributes["pending"] is False
    await advance(hass, freezer, 120)
    assert puts(fake_zoom) == [{"status": "On_A_Call"}]


async def test_restart_drops_a_wish_the_provider_already_reports(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    zoom_entry: MockConfigEntry,
    fake_zoom: FakeZoom,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A stored wish Zoom already shows (Available) is not sent again."""
    hass_storage[f"{DOMAIN}.{zoom_entry.entry_id}"] = stored_wish(zoom_entry, "available", 30)
    zoom_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(zoom_entry.entry_id)
    await advance(hass, freezer, 61)
    assert puts(fake_zoom) == []
    assert hass.states.get(ALICE).attributes["pending"] is False


@pytest.mark.usefixtures("init_integration")
async def test_shutdown_keeps_the_queued_change(
    hass: HomeAssistant, hass_storage: dict[str, Any], zoom_entry: MockConfigEntry
) -> None:
    """What is queued at shutdown is in the Store, with the window it waits for."""
    await select_option(hass, "away")
    await select_option(hass, "do_not_disturb")
    await hass.async_stop(force=True)
    stored = hass_storage[f"{DOMAIN}.{zoom_entry.entry_id}"]["data"][ALICE_SUBENTRY]["presence"]
    assert stored["wish"] == {"option": "do_not_disturb", "duration": 20}
    assert stored["delivered"] == {"option": "away", "duration": None}
    assert stored["send_at"] == (dt_util.utcnow() + timedelta(seconds=60)).isoformat()


async def test_reload_mid_window_sends_the_last_value_once(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    fake_zoom: FakeZoom,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Queue a change inside Zoom's minute, reload: one PUT of the last value when it opens."""
    await select_option(hass, "away")
    await advance(hass, freezer, 10)
    await select_option(hass, "presenting")
    await select_option(hass, "on_a_call")
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(ALICE).state == "on_a_call"
    await advance(hass, freezer, 45)
    assert puts(fake_zoom) == [{"status": "Away"}]
    await advance(hass, freezer, 6)
    assert puts(fake_zoom) == [{"status": "Away"}, {"status": "On_A_Call"}]
    await advance(hass, freezer, 120)
    assert len(puts(fake_zoom)) == 2


async def test_adding_a_person_mid_window_keeps_the_queue(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    fake_zoom: FakeZoom,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Adding Bob neither reloads the entry nor touches Alice's queued change."""
    alice = init_integration.runtime_data.people[ALICE_SUBENTRY]
    await select_option(hass, "away")
    await select_option(hass, "on_a_call")
    hass.config_entries.async_add_subentry(
        init_integration,
        ConfigSubentry(
            data={"user_id": BOB_ID},
            subentry_type=SUBENTRY_USER,
            title="Bob Baker",
            unique_id=BOB_ID,
        ),
    )
    await hass.async_block_till_done()
    assert init_integration.runtime_data.people[ALICE_SUBENTRY] is alice
    assert hass.states.get(BOB).state == "away"
    assert hass.states.get(ALICE).attributes["pending"] is True
    await advance(hass, freezer, 61)
    assert puts(fake_zoom) == [{"status": "Away"}, {"status": "On_A_Call"}]
    await select_option(hass, "available", BOB)
    assert fake_zoom.users[BOB_ID].status == "Available"


async def test_removing_a_person_stops_their_queue_in_place(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    fake_zoom: FakeZoom,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """A removed person's queued change is never sent, and nothing of theirs is kept."""
    await select_option(hass, "away")
    await select_option(hass, "on_a_call")
    coordinator = init_integration.runtime_data.coordinator
    assert hass.config_entries.async_remove_subentry(init_integration, ALICE_SUBENTRY)
    await hass.async_block_till_done()
    assert init_integration.runtime_data.coordinator is coordinator  # not reloaded
    assert hass.states.get(ALICE) is None
    await advance(hass, freezer, 61)
    assert puts(fake_zoom) == [{"status": "Away"}]
    assert hass_storage[f"{DOMAIN}.{init_integration.entry_id}"]["data"] == {}


async def test_changes_during_an_outage_are_delivered_when_it_ends(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    fake_zoom: FakeZoom,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Zoom down for reads and writes: the select stays settable; the change arrives once."""
    fake_zoom.fail_next.extend(web.Response(status=503) for _ in range(3))
    await advance(hass, freezer, 61)  # a failed poll
    state = hass.states.get(ALICE)
    assert state.state == "available"
    assert state.attributes["stale_since"] is not None
    await select_option(hass, "away")  # fails 503: queued
    await hass.services.async_call(
        DOMAIN, "set_presence", {"entity_id": ALICE, "presence": "on_a_call"}, blocking=True
    )
    state = hass.states.get(ALICE)
    assert state.state == "on_a_call"
    assert state.attributes["pending"] is True
    await advance(hass, freezer, 6)  # the backoff: fails again (503)
    await advance(hass, freezer, 11)
    assert [r.body for r in fake_zoom.api_requests("PUT")][-1] == {"status": "On_A_Call"}
    assert fake_zoom.users[ALICE_ID].status == "On_A_Call"
    await advance(hass, freezer, 300)
    # Two refused (503) and one delivered: exactly once.
    assert puts(fake_zoom) == [{"status": "Away"}, {"status": "On_A_Call"}, {"status": "On_A_Call"}]


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize("retry_after", ["0", "Thu, 01 Jan 2026 00:00:00 GMT"])
async def test_retry_after_zero_or_past_is_paced(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory, retry_after: str
) -> None:
    """An account-wide 429 asking to retry at once still waits the backoff: no retry storm."""
    fake_zoom.fail_next.extend(
        web.json_response(
            {"code": 429, "message": "Too many requests."},
            status=429,
            headers={"Retry-After": retry_after} | QPS_LIMIT,
        )
        for _ in range(2)
    )
    await select_option(hass, "away")
    await advance(hass, freezer, 4)
    assert len(puts(fake_zoom)) == 1
    await advance(hass, freezer, 1.5)
    assert len(puts(fake_zoom)) == 2
    await advance(hass, freezer, 9)
    assert len(puts(fake_zoom)) == 2
    await advance(hass, freezer, 1.5)
    assert puts(fake_zoom) == [{"status": "Away"}] * 3
    assert fake_zoom.users[ALICE_ID].status == "Away"


@pytest.mark.usefixtures("init_integration")
async def test_a_refused_send_does_not_strand_a_newer_value(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """A value refused for good while a newer one waited: the newer one is still sent."""
    fake_zoom.fail_next.append(
        web.json_response({"code": 300, "message": "Invalid status"}, status=400)
    )
    refused, queued = await asyncio.gather(
        select_option(hass, "away"), select_option(hass, "on_a_call"), return_exceptions=True
    )
    assert refused is not None  # the refusal is the first call's answer
    assert queued is None
    await advance(hass, freezer, 0)
    assert puts(fake_zoom) == [{"status": "Away"}, {"status": "On_A_Call"}]
    assert hass.states.get(ALICE).attributes["pending"] is False


async def test_an_unloaded_entry_sends_nothing(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    fake_zoom: FakeZoom,
    freezer: FrozenDateTimeFactory,
) -> None:
    """After unload, a queued change is kept but not sent, and no timer remains."""
    await select_option(hass, "away")
    await select_option(hass, "on_a_call")
    queue = init_integration.runtime_data.people[ALICE_SUBENTRY].presence_queue
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    assert init_integration.state is ConfigEntryState.NOT_LOADED
    assert queue._cancel_timer is None
    await advance(hass, freezer, 120)
    assert puts(fake_zoom) == [{"status": "Away"}]


async def test_a_send_in_flight_at_unload_is_not_repeated(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    fake_zoom: FakeZoom,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Unload waits for a send under way; the wish it delivered is not sent again later."""
    sending = hass.async_create_task(select_option(hass, "away"))
    await asyncio.sleep(0)
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await sending
    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await advance(hass, freezer, 120)
    assert puts(fake_zoom) == [{"status": "Away"}]


@pytest.mark.usefixtures("init_integration")
async def test_an_unexpected_error_is_retried_not_stranded(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """A bug-like exception on a send leaves the wish queued for a retry, logged once."""
    original = ClientSession._request
    calls = 0

    async def fail_once(self: ClientSession, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("boom")
        return await original(self, *args, **kwargs)

    with patch.object(ClientSession, "_request", fail_once):
        await select_option(hass, "away")
        assert hass.states.get(ALICE).attributes["pending"] is True
        await advance(hass, freezer, 6)
    assert puts(fake_zoom) == [{"status": "Away"}]
    assert hass.states.get(ALICE).attributes["pending"] is False


@pytest.mark.usefixtures("init_integration")
async def test_the_action_keeps_the_callers_context(
    hass: HomeAssistant, hass_admin_user: MockUser
) -> None:
    """The state written by `set_presence` names who asked, as `select_option` does."""
    context = Context(user_id=hass_admin_user.id)
    await hass.services.async_call(
        DOMAIN,
        "set_presence",
        {"entity_id": ALICE, "presence": "away"},
        blocking=True,
        context=context,
    )
    assert hass.states.get(ALICE).context.user_id == hass_admin_user.id


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize("target", ["select.nobody_presence", "select.other_integration"])
async def test_an_action_with_no_target_of_ours_is_an_error(
    hass: HomeAssistant, target: str
) -> None:
    """An unknown entity or another integration's select is refused, not silently skipped."""
    hass.states.async_set("select.other_integration", "a", {"options": ["a", "b"]})
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "set_presence", {"entity_id": target, "presence": "away"}, blocking=True
        )
    assert err.value.translation_key == "not_a_presence_entity"
    assert err.value.translation_placeholders == {"entity": target}
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "set_status_message", {"entity_id": target, "message": "x"}, blocking=True
        )
    assert err.value.translation_key == "not_a_status_entity"


@pytest.mark.usefixtures("init_integration")
async def test_an_action_whose_targets_reach_none_of_ours_is_an_error(
    hass: HomeAssistant, area_registry: ar.AreaRegistry
) -> None:
    """An area without any presence select of ours is refused; no target at all too."""
    area = area_registry.async_create("Empty room")
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "set_presence", {"presence": "away", "area_id": area.id}, blocking=True
        )
    assert err.value.translation_key == "no_presence_targets"
    with pytest.raises(vol.Invalid):
        await hass.services.async_call(DOMAIN, "set_presence", {"presence": "away"}, blocking=True)


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize("duration", [1.7, True, "1.5"])
async def test_duration_takes_whole_minutes_only(
    hass: HomeAssistant, fake_zoom: FakeZoom, duration: object
) -> None:
    """1.7, true or "1.5" minutes are refused, and nothing is sent."""
    with pytest.raises(vol.Invalid):
        await hass.services.async_call(
            DOMAIN,
            "set_presence",
            {"entity_id": ALICE, "presence": "do_not_disturb", "duration": duration},
            blocking=True,
        )
    assert puts(fake_zoom) == []


@pytest.mark.usefixtures("init_integration")
async def test_an_unknown_presence_is_echoed_short(hass: HomeAssistant) -> None:
    """A 1 MB presence name is not repeated whole in the error."""
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "set_presence", {"entity_id": ALICE, "presence": "x" * 1_000_000}, blocking=True
        )
    assert err.value.translation_placeholders["presence"] == "x" * 39 + "…"


async def test_the_coordinator_is_named_without_the_title(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Its name is logged; a Zulip title holds an email address."""
    coordinator = init_integration.runtime_data.coordinator
    assert coordinator.name == f"{DOMAIN} {init_integration.entry_id}"


@pytest.mark.usefixtures("init_integration")
async def test_an_accepted_change_writes_one_state(hass: HomeAssistant) -> None:
    """Sent and accepted at once: one state change (one recorder row), not pending then done."""
    changes = []
    hass.bus.async_listen(
        "state_changed",
        lambda event: (
            changes.append(event.data["new_state"].state)
            if event.data["entity_id"] == ALICE
            else None
        ),
    )
    await select_option(hass, "away")
    await hass.async_block_till_done()
    assert changes == ["away"]
    assert hass.states.get(ALICE).attributes["pending"] is False


def test_a_queued_outcome_without_time_says_why() -> None:
    """Waiting for new credentials: queued, no time, and the error."""
    assert DeliveryOutcome(queued=True, error="refused").as_dict() == {
        "result": "queued",
        "send_at": None,
        "error": "refused",
    }


async def test_removing_the_entry_removes_its_store(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Deleting the account deletes what was kept for it."""
    await select_option(hass, "away")
    await select_option(hass, "on_a_call")
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    assert f"{DOMAIN}.{init_integration.entry_id}" in hass_storage
    await hass.config_entries.async_remove(init_integration.entry_id)
    assert f"{DOMAIN}.{init_integration.entry_id}" not in hass_storage
