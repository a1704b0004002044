"""Presence Bridge: set people's presence in Zoom (and more providers) from Home Assistant."""

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime
from functools import partial
import math
from typing import Any, Final, Protocol, runtime_checkable

from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import MAJOR_VERSION, MINOR_VERSION, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import (
    config_validation as cv,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.helpers.device_registry import DeviceEntry
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.typing import ConfigType
from homeassistant.util import dt as dt_util

from .api import PresenceBridgeError, PresenceClient, StatusClient, StatusMessage
from .api.zulip import normalize_url
from .const import (
    CONF_KEEP_SESSION,
    CONF_PROVIDER,
    CONF_URL,
    CONF_USER_ID,
    DOMAIN,
    EVENT_DELIVERY_FAILED,
    PROVIDER_ZULIP,
    SUBENTRY_USER,
)
from .coordinator import (
    PersonRuntime,
    PersonState,
    PresenceBridgeConfigEntry,
    PresenceBridgeData,
    PresenceCoordinator,
)
from .delivery import DeliveryQueue, DesiredPresence, PresenceSession, WishStore
from .entity import device_identifier, signal_person_added
from .providers import async_create_client
from .services import async_setup_services

ENTRY_SUCCESS: Final = None if (MAJOR_VERSION, MINOR_VERSION) >= (2026, 11) else True
"""What setup and unload return on success: None, as core does, from Home Assistant 2026.11 on;
True on 2026.10, which refuses anything but a bool. Becomes plain None once `hacs.json`'s minimum
reaches 2026.11."""

PLATFORMS = [Platform.NUMBER, Platform.SELECT, Platform.SENSOR, Platform.TEXT]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


@runtime_checkable
class _StatusExpiry(Protocol):
    """A status client whose provider takes an expiry with the status (Graph's `expiryDateTime`)."""

    async def set_status_until(
        self, user_id: str, status: StatusMessage, until: datetime
    ) -> None: ...


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions, once for all entries."""
    async_setup_services(hass)
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: PresenceBridgeConfigEntry) -> bool:
    """Bring an entry made by an older version up to date.

    1.2: a Zulip server URL is normalised, and so is the unique id built from it, so that the
    same account typed another way is recognised as already configured.
    """
    if entry.version > 1:
        return False
    if entry.minor_version < 2 and entry.data[CONF_PROVIDER] == PROVIDER_ZULIP:
        url = normalize_url(entry.data[CONF_URL])
        user_id = str(entry.unique_id).rpartition(":")[2]
        unique_id = f"{url}:{user_id}"
        taken = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, unique_id)
        hass.config_entries.async_update_entry(
            entry,
            data={**entry.data, CONF_URL: url},
            unique_id=unique_id if taken in (None, entry) else entry.unique_id,
            minor_version=2,
        )
    else:
        hass.config_entries.async_update_entry(entry, minor_version=2)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: PresenceBridgeConfigEntry) -> bool | None:
    """Connect one provider account and set up a device per person."""
    client = await async_create_client(hass, entry.data, entry)
    coordinator = PresenceCoordinator(hass, entry, client)
    wishes = WishStore(hass, entry.entry_id)
    await wishes.async_load()
    data = PresenceBridgeData(coordinator, wishes=wishes, setup_options=dict(entry.options))
    for subentry in entry.get_subentries_of_type(SUBENTRY_USER):
        _add_person(hass, entry, data, subentry)

    if client.poll_requests(len(data.people)) < client.budget.burst:  # and a token
        await coordinator.async_first_read()
        read_later = False
    else:
        # More people than one burst of the budget: load now, read them at its pace.
        await coordinator.async_prepare()
        read_later = True
    entry.runtime_data = data
    if read_later:
        entry.async_create_background_task(
            hass, _async_read_then_resume(data), f"{DOMAIN} first read {entry.entry_id}"
        )
    else:
        _resume_people(data)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    return ENTRY_SUCCESS


async def _async_read_then_resume(data: PresenceBridgeData) -> None:
    """The first read of a large account; then restored wishes not reported yet are sent."""
    await data.coordinator.async_refresh()
    _resume_people(data)


def _resume_people(data: PresenceBridgeData) -> None:
    for subentry_id in data.people:
        _resume_person(data, subentry_id)


def _add_person(
    hass: HomeAssistant,
    entry: PresenceBridgeConfigEntry,
    data: PresenceBridgeData,
    subentry: ConfigSubentry,
) -> None:
    """Give a person their queues, with what the Store kept of them."""
    client = data.coordinator.client
    person = PersonRuntime(subentry.data[CONF_USER_ID])
    about = (data.coordinator, subentry.subentry_id, person)

    def queue[T](
        kind: str,
        send: Callable[[T], Awaitable[None]],
        wish_type: Callable[..., T],
        interval: float,
    ) -> DeliveryQueue[T]:
        delivery = DeliveryQueue(
            hass,
            send=send,
            wish_type=wish_type,
            min_interval=interval,
            on_auth_failure=partial(entry.async_start_reauth, hass),
            budget=client.budget,
        )
        delivery.on_failed = partial(
            _async_delivery_failed, hass=hass, entry=entry, subentry=subentry, kind=kind
        )
        data.wishes.async_register(subentry.subentry_id, kind, delivery)
        data.wishes.async_register(subentry.subentry_id, f"{kind}_revert", delivery.with_revert())
        return delivery

    if isinstance(client, PresenceClient):
        if client.session_lifetime is not None and entry.options.get(CONF_KEEP_SESSION, True):
            person.session = PresenceSession(
                hass,
                keep=partial(client.keep_session, person.user_id),
                end=partial(client.end_session, person.user_id),
                lifetime=client.session_lifetime,
            )
            data.wishes.async_register(subentry.subentry_id, "session", person.session)
        person.presence_queue = queue(
            "presence",
            partial(_async_send_presence, client, *about),
            DesiredPresence,
            client.update_interval_per_user,
        )
    if isinstance(client, StatusClient):
        person.status_queue = queue(
            "status", partial(_async_send_status, client, *about), StatusMessage, 0
        )
    data.people[subentry.subentry_id] = person


def _resume_person(data: PresenceBridgeData, subentry_id: str) -> None:
    """Deliver the person's restored wishes, but none the provider already reports."""
    person = data.people[subentry_id]

    def known() -> PersonState:
        return data.coordinator.data.people.get(subentry_id, PersonState())

    def presence_reported(wish: DesiredPresence) -> bool:
        presence = known().presence
        return presence is not None and presence.option == wish.option

    def status_reported(wish: StatusMessage) -> bool:
        status = known().status or StatusMessage()
        return all(
            wanted is None or wanted == getattr(status, name)
            for name, wanted in asdict(wish).items()
        )

    if person.presence_queue is not None:
        person.presence_queue.async_resume(presence_reported)
    if person.session is not None:
        person.session.async_resume()
    if person.status_queue is not None:
        person.status_queue.async_resume(status_reported)


async def _async_send_presence(
    client: PresenceClient,
    coordinator: PresenceCoordinator,
    subentry_id: str,
    person: PersonRuntime,
    desired: DesiredPresence,
) -> None:
    """Send to the provider; once it accepted, that is the person's known presence.

    Where the provider needs a presence session for it to show, the session is kept from
    now on, and ended when the presence is handed back (`automatic`).
    """
    await client.set_presence(
        person.user_id, desired.option, _native_duration(client, person, desired)
    )
    coordinator.async_set_accepted(subentry_id, presence=client.accepted_presence(desired.option))
    if person.session is None:
        return
    if desired.option == client.automatic_option:
        await person.session.async_end()
    else:
        await person.session.async_keep()


def _native_duration(
    client: PresenceClient, person: PersonRuntime, desired: DesiredPresence
) -> int | None:
    """The duration to send: the one asked for, else the minutes left of an expiring wish.

    Providers with an expiry of their own (Graph's `expirationDuration`, Zoom's DND
    `duration`) then revert even while Home Assistant is down. A wait outside the provider's
    range is not sent, except for the option with a default duration (Zoom's DND), which
    would otherwise end after that default: it gets the longest the provider takes.
    """
    revert = person.presence_queue.revert if person.presence_queue else None
    if desired.duration is not None or revert is None or not client.takes_duration(desired.option):
        return desired.duration
    if (until := revert.native_until(desired)) is None:
        return None
    minutes = max(math.ceil((until - dt_util.utcnow()).total_seconds() / 60), 1)
    low, high = client.duration_range
    if desired.option == client.duration_option:
        return min(max(minutes, low), high)
    return minutes if low <= minutes <= high else None


async def _async_send_status(
    client: StatusClient,
    coordinator: PresenceCoordinator,
    subentry_id: str,
    person: PersonRuntime,
    status: StatusMessage,
) -> None:
    """Send to the provider; once it accepted, that is the person's known status.

    An expiring status goes with its expiry where the provider takes one.
    """
    revert = person.status_queue.revert if person.status_queue else None
    until = revert.native_until(status) if revert is not None else None
    if until is not None and isinstance(client, _StatusExpiry):
        await client.set_status_until(person.user_id, status, until)
    else:
        await client.set_status(person.user_id, status)
    coordinator.async_set_accepted(subentry_id, status=status)


@callback
def _async_delivery_failed(
    wanted: DesiredPresence | StatusMessage,
    err: PresenceBridgeError,
    *,
    hass: HomeAssistant,
    entry: PresenceBridgeConfigEntry,
    subentry: ConfigSubentry,
    kind: str,
) -> None:
    """A wish failed for good: fire `presence_bridge_delivery_failed` for automations."""
    identifier = device_identifier(
        entry.data[CONF_PROVIDER], str(entry.unique_id), subentry.data[CONF_USER_ID]
    )
    registry = er.async_get(hass)
    candidates = (
        [("select", "presence")]
        if kind == "presence"
        else [("text", "status_message"), ("select", "status_preset")]
    )
    entity_id = next(
        (
            found
            for platform, key in candidates
            if (found := registry.async_get_entity_id(platform, DOMAIN, f"{identifier}_{key}"))
        ),
        None,
    )
    shown: dict[str, Any] = asdict(wanted)
    hass.bus.async_fire(
        EVENT_DELIVERY_FAILED,
        {
            "entity_id": entity_id,
            "provider": entry.data[CONF_PROVIDER],
            "wanted": shown.get("option", shown),
            "error": str(err),
            "error_type": type(err).__name__,
        },
    )


async def _async_entry_updated(hass: HomeAssistant, entry: PresenceBridgeConfigEntry) -> None:
    """Add or remove a person in place; reload only when the options changed.

    The other people's queues are left alone, and a refreshed token changes nothing here.
    """
    data = entry.runtime_data
    if dict(entry.options) != data.setup_options:
        hass.config_entries.async_schedule_reload(entry.entry_id)
        return
    configured = {subentry.subentry_id for subentry in entry.get_subentries_of_type(SUBENTRY_USER)}
    for subentry_id in data.people.keys() - configured:
        await _async_remove_person(hass, entry, subentry_id)
    added = configured - data.people.keys()
    for subentry_id in added:
        _add_person(hass, entry, data, entry.subentries[subentry_id])
        async_dispatcher_send(hass, signal_person_added(entry.entry_id), subentry_id)
    if added:
        await data.coordinator.async_request_refresh()


async def _async_remove_person(
    hass: HomeAssistant, entry: PresenceBridgeConfigEntry, subentry_id: str
) -> None:
    """Stop a removed person's queues and forget them; core removes their device."""
    data = entry.runtime_data
    await data.people.pop(subentry_id).async_stop()
    data.wishes.async_forget(subentry_id)
    ir.async_delete_issue(hass, DOMAIN, f"{entry.entry_id}_user_gone_{subentry_id}")


async def async_unload_entry(hass: HomeAssistant, entry: PresenceBridgeConfigEntry) -> bool | None:
    """Unload the platforms, stop the queues and keep what they still hold.

    A platform that fails to unload is False, which 2026.11 turns into the same
    `ConfigEntryError` as core's `async_unload_platforms_or_raise` (missing from 2026.10).
    """
    if not await hass.config_entries.async_unload_platforms(entry, PLATFORMS):
        return False
    data = entry.runtime_data
    data.client.budget.close()  # what waits for a slot stays wanted, and is kept
    for person in data.people.values():
        await person.async_stop()
    await data.wishes.async_save()
    return ENTRY_SUCCESS


async def async_remove_entry(hass: HomeAssistant, entry: PresenceBridgeConfigEntry) -> None:
    """The account was deleted: so is what the Store kept for it."""
    await WishStore(hass, entry.entry_id).async_remove()


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: PresenceBridgeConfigEntry, device: DeviceEntry
) -> bool:
    """Allow removing only a device whose person is no longer configured."""
    return device.config_subentry_id not in entry.subentries
