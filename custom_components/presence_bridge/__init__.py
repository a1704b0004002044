"""Presence Bridge: set people's presence in Zoom (and more providers) from Home Assistant."""

from collections.abc import Awaitable, Callable
from functools import partial

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.device_registry import DeviceEntry
from homeassistant.helpers.typing import ConfigType

from .api import (
    AuthenticationError,
    PresenceBridgeError,
    PresenceClient,
    StatusClient,
    StatusMessage,
)
from .const import CONF_USER_ID, DOMAIN, MAX_CONCURRENT_SENDS, SUBENTRY_USER
from .coordinator import (
    PersonRuntime,
    PresenceBridgeConfigEntry,
    PresenceBridgeData,
    PresenceCoordinator,
)
from .delivery import DeliveryQueue, DesiredPresence, SendThrottle
from .providers import create_client
from .services import async_setup_services

PLATFORMS = [Platform.NUMBER, Platform.SELECT, Platform.TEXT]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions, once for all entries."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: PresenceBridgeConfigEntry) -> bool:
    """Connect one provider account and set up a device per person.

    Returns True, not None as core integrations do since Home Assistant 2026.11: 2026.10, the
    oldest release supported, fails a setup that returns anything but a bool, and 2026.11 still
    takes a bool from a custom integration without a report. The same goes for unloading.
    """
    client = create_client(hass, entry.data)
    coordinator = PresenceCoordinator(hass, entry, client)
    data = PresenceBridgeData(
        coordinator,
        throttle=SendThrottle(MAX_CONCURRENT_SENDS),
        setup_state=_reload_state(entry),
    )

    def on_failure(err: PresenceBridgeError) -> None:
        if isinstance(err, AuthenticationError):
            entry.async_start_reauth(hass)

    def queue[T](send: Callable[[T], Awaitable[None]], min_interval: float) -> DeliveryQueue[T]:
        delivery = DeliveryQueue(
            hass,
            send=send,
            min_interval=min_interval,
            on_failure=on_failure,
            throttle=data.throttle,
        )
        entry.async_on_unload(delivery.async_shutdown)
        return delivery

    for subentry in entry.get_subentries_of_type(SUBENTRY_USER):
        person = PersonRuntime(subentry.data[CONF_USER_ID])
        about = (coordinator, subentry.subentry_id, person.user_id)
        if isinstance(client, PresenceClient):
            send_presence = partial(_async_send_presence, client, *about)
            person.presence_queue = queue(send_presence, client.update_interval_per_user)
        if isinstance(client, StatusClient):
            person.status_queue = queue(partial(_async_send_status, client, *about), 0)
        data.people[subentry.subentry_id] = person

    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = data
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_on_unload(entry.add_update_listener(_async_reload_if_changed))
    return True


async def _async_send_presence(
    client: PresenceClient,
    coordinator: PresenceCoordinator,
    subentry_id: str,
    user_id: str,
    desired: DesiredPresence,
) -> None:
    """Send to the provider; once it accepted, that is the person's known presence."""
    await client.set_presence(user_id, desired.option, desired.duration)
    coordinator.async_set_accepted(subentry_id, presence=client.accepted_presence(desired.option))


async def _async_send_status(
    client: StatusClient,
    coordinator: PresenceCoordinator,
    subentry_id: str,
    user_id: str,
    status: StatusMessage,
) -> None:
    """Send to the provider; once it accepted, that is the person's known status."""
    await client.set_status(user_id, status)
    coordinator.async_set_accepted(subentry_id, status=status)


def _reload_state(entry: PresenceBridgeConfigEntry) -> tuple[object, ...]:
    """What, changed, needs a reload: the people and the options (not refreshed tokens)."""
    return (
        {subentry_id: subentry.as_dict() for subentry_id, subentry in entry.subentries.items()},
        dict(entry.options),
    )


async def _async_reload_if_changed(hass: HomeAssistant, entry: PresenceBridgeConfigEntry) -> None:
    """Reload when a person was added or removed or the options changed."""
    if _reload_state(entry) != entry.runtime_data.setup_state:
        hass.config_entries.async_schedule_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: PresenceBridgeConfigEntry) -> bool:
    """Unload the platforms; the queues stop through `async_on_unload`."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: PresenceBridgeConfigEntry, device: DeviceEntry
) -> bool:
    """Allow removing only a device whose person is no longer configured."""
    return device.config_subentry_id not in entry.subentries
