"""The Presence select: read-back, exact requests, pacing, retries and errors."""

from aiohttp import web
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.select.const import DOMAIN as SELECT_DOMAIN
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import (
    ATTR_ENTITY_ID,
    ATTR_OPTION,
    SERVICE_SELECT_OPTION,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.presence_bridge.const import DOMAIN

from .conftest import ALICE_ID, advance
from .fake_zoom import FakeZoom

ALICE = "select.alice_archer_presence"
PRESENCE_PATH = f"/v2/users/{ALICE_ID}/presence_status"


async def select_option(hass: HomeAssistant, option: str, entity_id: str = ALICE) -> None:
    """Pick an option as the UI does."""
    await hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: entity_id, ATTR_OPTION: option},
        blocking=True,
    )


def puts(fake: FakeZoom) -> list[object]:
    """Bodies of the presence PUTs the fake received."""
    return [r.body for r in fake.api_requests("PUT")]


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    ("option", "body"),
    [
        ("available", {"status": "Available"}),
        ("away", {"status": "Away"}),
        ("do_not_disturb", {"status": "Do_Not_Disturb", "duration": 20}),
        ("in_calendar_event", {"status": "In_Calendar_Event"}),
        ("presenting", {"status": "Presenting"}),
        ("in_a_zoom_meeting", {"status": "In_A_Zoom_Meeting"}),
        ("on_a_call", {"status": "On_A_Call"}),
    ],
)
async def test_each_option_sends_its_status(
    hass: HomeAssistant, fake_zoom: FakeZoom, option: str, body: dict[str, object]
) -> None:
    """Each option is one PUT with Zoom's status (DND with the default 20 minutes)."""
    await select_option(hass, option)

    [request] = fake_zoom.api_requests("PUT")
    assert request.path == PRESENCE_PATH
    assert request.body == body
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Authorization"].startswith("Bearer ")
    state = hass.states.get(ALICE)
    assert state.state == option
    assert state.attributes["pending"] is False
    assert state.attributes["last_delivery_error"] is None


async def test_options_and_translated_names(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The select offers exactly the seven settable Zoom statuses."""
    state = hass.states.get(ALICE)
    assert state.attributes["options"] == [
        "available",
        "away",
        "do_not_disturb",
        "in_calendar_event",
        "presenting",
        "in_a_zoom_meeting",
        "on_a_call",
    ]
    assert state.attributes["friendly_name"] == "Alice Archer Presence"


async def test_unknown_status_shows_no_option(
    hass: HomeAssistant, fake_zoom: FakeZoom, zoom_entry: MockConfigEntry
) -> None:
    """A status Zoom reports but we cannot set (Offline) shows no option, with the raw value."""
    fake_zoom.users[ALICE_ID].status = "Offline"
    zoom_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(zoom_entry.entry_id)
    state = hass.states.get(ALICE)
    assert state.state == STATE_UNKNOWN
    assert state.attributes["provider_status"] == "Offline"


@pytest.mark.usefixtures("init_integration")
async def test_read_back_follows_zoom(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """A change made in Zoom shows after the next poll (60 s)."""
    fake_zoom.users[ALICE_ID].status = "Do_Not_Disturb"
    await advance(hass, freezer, 30)
    assert hass.states.get(ALICE).state == "available"
    await advance(hass, freezer, 31)
    assert hass.states.get(ALICE).state == "do_not_disturb"


@pytest.mark.usefixtures("init_integration")
async def test_changes_inside_the_window_are_coalesced(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """Three changes in 10 s: one PUT now, one with the last value when the window opens."""
    await select_option(hass, "away")
    await advance(hass, freezer, 5)
    await select_option(hass, "presenting")
    state = hass.states.get(ALICE)
    assert state.state == "presenting"
    assert state.attributes["pending"] is True
    assert state.attributes["send_at"] is not None
    await advance(hass, freezer, 5)
    await select_option(hass, "on_a_call")
    assert hass.states.get(ALICE).state == "on_a_call"
    assert puts(fake_zoom) == [{"status": "Away"}]

    await advance(hass, freezer, 49)
    assert puts(fake_zoom) == [{"status": "Away"}]
    await advance(hass, freezer, 2)
    assert puts(fake_zoom) == [{"status": "Away"}, {"status": "On_A_Call"}]
    assert fake_zoom.users[ALICE_ID].status == "On_A_Call"
    state = hass.states.get(ALICE)
    assert state.state == "on_a_call"
    assert state.attributes["pending"] is False
    assert all(r.path != "/oauth/token" for r in fake_zoom.requests[1:])


@pytest.mark.usefixtures("init_integration")
async def test_not_signed_in_raises_and_keeps_zoom_state(
    hass: HomeAssistant, fake_zoom: FakeZoom
) -> None:
    """Zoom's 5301 on an immediate send is a translated error; the state stays as Zoom has it."""
    fake_zoom.users[ALICE_ID].signed_in = False
    with pytest.raises(HomeAssistantError) as err:
        await select_option(hass, "away")
    assert err.value.translation_key == "user_not_signed_in"
    assert str(err.value) == (
        "The person is not signed in to the provider's app, so their presence cannot be changed now"
    )
    state = hass.states.get(ALICE)
    assert state.state == "available"
    assert state.attributes["pending"] is False
    assert len(puts(fake_zoom)) == 1


@pytest.mark.usefixtures("init_integration")
async def test_permission_denied_for_user(hass: HomeAssistant, fake_zoom: FakeZoom) -> None:
    """Zoom's 5411 is a missing-permission error."""
    fake_zoom.users[ALICE_ID].may_update = False
    with pytest.raises(HomeAssistantError) as err:
        await select_option(hass, "away")
    assert err.value.translation_key == "missing_permission"


@pytest.mark.usefixtures("init_integration")
async def test_rate_limit_waits_out_retry_after(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """A 429 queues the change and sends it after `Retry-After`."""
    fake_zoom.fail_next.append(
        web.json_response(
            {"code": 429, "message": "Too many requests."},
            status=429,
            headers={"Retry-After": "20"},
        )
    )
    await select_option(hass, "away")
    state = hass.states.get(ALICE)
    assert state.state == "away"
    assert state.attributes["pending"] is True
    assert "Too many requests" in state.attributes["last_delivery_error"]

    await advance(hass, freezer, 19)
    assert len(fake_zoom.api_requests("PUT")) == 1
    await advance(hass, freezer, 2)
    assert puts(fake_zoom) == [{"status": "Away"}, {"status": "Away"}]
    assert fake_zoom.users[ALICE_ID].status == "Away"
    assert hass.states.get(ALICE).attributes["pending"] is False


@pytest.mark.usefixtures("init_integration")
async def test_zoom_per_user_limit_without_retry_after(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """Zoom's own per-user 429 (someone else just changed Alice) waits a whole window."""
    fake_zoom.last_update[ALICE_ID] = fake_zoom.clock()
    await select_option(hass, "away")
    assert hass.states.get(ALICE).attributes["pending"] is True
    await advance(hass, freezer, 61)
    assert puts(fake_zoom) == [{"status": "Away"}, {"status": "Away"}]
    assert fake_zoom.users[ALICE_ID].status == "Away"


@pytest.mark.usefixtures("init_integration")
async def test_server_errors_retry_with_backoff(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """5xx answers are retried after 5 s, then 10 s, until Zoom takes the change."""
    fake_zoom.fail_next.extend([web.Response(status=503), web.Response(status=502)])
    await select_option(hass, "away")
    assert hass.states.get(ALICE).attributes["pending"] is True
    await advance(hass, freezer, 5.5)
    assert len(fake_zoom.api_requests("PUT")) == 2
    await advance(hass, freezer, 9)
    assert len(fake_zoom.api_requests("PUT")) == 2
    await advance(hass, freezer, 1.5)
    assert len(fake_zoom.api_requests("PUT")) == 3
    assert fake_zoom.users[ALICE_ID].status == "Away"
    assert hass.states.get(ALICE).attributes["last_delivery_error"] is None


@pytest.mark.usefixtures("init_integration")
async def test_token_refused_mid_life_is_refetched_once(
    hass: HomeAssistant, fake_zoom: FakeZoom
) -> None:
    """A 401 (code 124) on a cached token fetches one new token and retries once."""
    fake_zoom.expire_tokens()
    fake_zoom.requests.clear()
    await select_option(hass, "away")
    assert [(r.method, r.path) for r in fake_zoom.requests] == [
        ("PUT", PRESENCE_PATH),
        ("POST", "/oauth/token"),
        ("PUT", PRESENCE_PATH),
    ]
    assert fake_zoom.users[ALICE_ID].status == "Away"


@pytest.mark.usefixtures("init_integration")
async def test_token_expiry_is_handled_transparently(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """After the token's hour (on Zoom's clock) polling carries on with a new token."""
    await advance(hass, freezer, 3601)
    assert hass.states.get(ALICE).state == "available"
    assert [r.path for r in fake_zoom.requests].count("/oauth/token") == 2


async def test_revoked_secret_keeps_the_change_for_after_reauth(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    fake_zoom: FakeZoom,
    freezer: FrozenDateTimeFactory,
) -> None:
    """When the new token is refused too, the change waits, reauth starts, then it is sent."""
    fake_zoom.expire_tokens()
    fake_zoom.client_secret = "rotated"
    await select_option(hass, "away")
    state = hass.states.get(ALICE)
    assert state.state == "away"
    assert state.attributes["pending"] is True
    await hass.async_block_till_done()
    [flow] = hass.config_entries.flow.async_progress()
    assert flow["context"]["source"] == SOURCE_REAUTH
    # A change made during reauth is queued too; the newest one is delivered.
    await select_option(hass, "on_a_call")
    assert puts(fake_zoom) == [{"status": "Away"}]  # the one refused with the old secret

    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"client_secret": "rotated"}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()  # the reload
    await advance(hass, freezer, 0)  # the restored wish's timer, due now
    assert puts(fake_zoom) == [{"status": "Away"}, {"status": "On_A_Call"}]
    assert fake_zoom.users[ALICE_ID].status == "On_A_Call"
    assert hass.states.get(ALICE).attributes["pending"] is False


@pytest.mark.usefixtures("init_integration")
async def test_person_gone_is_unavailable_with_repair(
    hass: HomeAssistant,
    fake_zoom: FakeZoom,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A person Zoom no longer knows goes unavailable and raises a repair issue."""
    del fake_zoom.users[ALICE_ID]
    await advance(hass, freezer, 61)
    assert hass.states.get(ALICE).state == STATE_UNAVAILABLE
    issue = next(i for i in issue_registry.issues.values() if i.domain == DOMAIN)
    assert issue.translation_key == "user_gone"
    assert issue.translation_placeholders["name"] == "Alice Archer"


@pytest.mark.usefixtures("init_integration")
async def test_missing_read_scope_raises_repair(
    hass: HomeAssistant,
    fake_zoom: FakeZoom,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A poll refused for a missing scope (4711) names it in a repair issue; it clears on recovery."""
    fake_zoom.scopes = frozenset({"user:write:admin"})
    await advance(hass, freezer, 61)
    assert hass.states.get(ALICE).state == "available"
    assert hass.states.get(ALICE).attributes["stale_since"] is not None
    issue = next(i for i in issue_registry.issues.values() if i.domain == DOMAIN)
    assert issue.translation_key == "missing_permission"
    assert issue.translation_placeholders["scope"] == "user:read:admin"

    fake_zoom.scopes = frozenset({"user:read:admin", "user:write:admin"})
    await advance(hass, freezer, 61)
    assert hass.states.get(ALICE).state == "available"
    assert not [i for i in issue_registry.issues.values() if i.domain == DOMAIN]


@pytest.mark.usefixtures("init_integration")
async def test_failed_polls_keep_the_person_available_and_stale(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """A 429 or 5xx on a poll keeps the last known state, marked stale, until Zoom answers."""
    read_at = hass.states.get(ALICE).last_updated
    fake_zoom.fail_next.append(web.json_response({"code": 429, "message": "Slow down"}, status=429))
    await advance(hass, freezer, 61)
    state = hass.states.get(ALICE)
    assert state.state == "available"
    assert state.attributes["stale_since"] == read_at.isoformat()
    fake_zoom.fail_next.append(web.Response(status=500))
    await advance(hass, freezer, 61)
    assert hass.states.get(ALICE).attributes["stale_since"] == read_at.isoformat()
    await advance(hass, freezer, 61)
    state = hass.states.get(ALICE)
    assert state.state == "available"
    assert state.attributes["stale_since"] is None


@pytest.mark.usefixtures("init_integration")
async def test_poll_with_revoked_credentials_starts_reauth(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """Credentials refused while polling start reauth."""
    fake_zoom.expire_tokens()
    fake_zoom.client_secret = "rotated"
    await advance(hass, freezer, 61)
    [flow] = hass.config_entries.flow.async_progress()
    assert flow["context"]["source"] == SOURCE_REAUTH


async def test_no_secret_or_token_in_logs(
    hass: HomeAssistant,
    fake_zoom: FakeZoom,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Neither the client secret, its Basic form, nor any token reaches a log line."""
    fake_zoom.expire_tokens()
    await select_option(hass, "away")
    fake_zoom.fail_next.append(web.Response(status=503))
    await select_option(hass, "presenting")
    await advance(hass, freezer, 61)
    fake_zoom.users[ALICE_ID].signed_in = False
    await advance(hass, freezer, 61)
    with pytest.raises(HomeAssistantError):
        await select_option(hass, "on_a_call")

    issued = [r for r in fake_zoom.requests if r.path == "/oauth/token"]
    assert len(issued) == 2
    secrets = [fake_zoom.client_secret, *fake_zoom.tokens]
    secrets += [r.headers["Authorization"].split(" ", 1)[1] for r in fake_zoom.requests]
    text = "\n".join(f"{record.getMessage()} {record.exc_text or ''}" for record in caplog.records)
    assert "presence_bridge" in text
    for secret in secrets:
        assert secret not in text


@pytest.mark.usefixtures("init_integration")
async def test_zoom_validation_error_names_code(hass: HomeAssistant, fake_zoom: FakeZoom) -> None:
    """An error Zoom has no special meaning for is shown with its code and message."""
    fake_zoom.fail_next.append(
        web.json_response({"code": 300, "message": "Validation Failed."}, status=400)
    )
    with pytest.raises(HomeAssistantError) as err:
        await select_option(hass, "away")
    assert err.value.translation_key == "invalid_request"
    assert err.value.translation_placeholders == {"code": "300", "message": "Validation Failed."}


@pytest.mark.usefixtures("init_integration")
async def test_person_deleted_in_zoom(hass: HomeAssistant, fake_zoom: FakeZoom) -> None:
    """Setting someone Zoom no longer knows says so."""
    del fake_zoom.users[ALICE_ID]
    with pytest.raises(HomeAssistantError) as err:
        await select_option(hass, "away")
    assert err.value.translation_key == "user_not_found"


@pytest.mark.usefixtures("init_integration")
async def test_change_made_in_zoom_after_ours_shows(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """Set to Away here, then back to Available in Zoom: the next poll shows Available."""
    await select_option(hass, "away")
    assert hass.states.get(ALICE).state == "away"
    fake_zoom.users[ALICE_ID].status = "Available"
    await advance(hass, freezer, 61)
    assert hass.states.get(ALICE).state == "available"


@pytest.mark.usefixtures("init_integration")
async def test_changed_back_within_the_window_sends_nothing_more(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """Away, presenting, away again within a minute: Zoom already has away."""
    await select_option(hass, "away")
    await select_option(hass, "presenting")
    await select_option(hass, "away")
    await advance(hass, freezer, 61)
    assert puts(fake_zoom) == [{"status": "Away"}]
    state = hass.states.get(ALICE)
    assert state.state == "away"
    assert state.attributes["pending"] is False
