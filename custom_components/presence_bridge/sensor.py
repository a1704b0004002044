"""The Availability of each controlled person: their reported presence in one vocabulary."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast, override

from homeassistant.components.sensor import SensorDeviceClass, SensorEntity, SensorEntityDescription
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import Availability, PresenceClient, ProviderClient, StatusClient
from .coordinator import PersonRuntime, PersonState, PresenceBridgeConfigEntry
from .entity import PresenceBridgeEntity, async_add_people_entities

PARALLEL_UPDATES = 0


@dataclass(frozen=True, slots=True)
class Reported:
    """What the provider reports for a person: in the shared vocabulary, and as it says it."""

    shared: Availability
    raw: str | None


@dataclass(frozen=True, kw_only=True)
class AvailabilitySensorEntityDescription(SensorEntityDescription):
    """A sensor of a person's reported state, read by `reported_fn` with the account's client."""

    reported_fn: Callable[[ProviderClient, PersonState], Reported | None]


def reported_availability(client: ProviderClient, known: PersonState) -> Reported | None:
    """The presence where the provider has one, else (Zulip) what the status says; None
    before anything was read."""
    if client.capabilities.presence:
        if (presence := known.presence) is None:
            return None
        return Reported(cast("PresenceClient", client).shared_of(presence), presence.raw)
    if (status := known.status) is None:
        return None
    return Reported(cast("StatusClient", client).shared_of_status(status), status.text or None)


AVAILABILITY = AvailabilitySensorEntityDescription(
    key="availability",
    translation_key="availability",
    device_class=SensorDeviceClass.ENUM,
    options=list(Availability),
    reported_fn=reported_availability,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PresenceBridgeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add an Availability sensor per person, whatever the provider."""
    data = entry.runtime_data
    can = data.client.capabilities
    if not (can.presence or can.status_presets):
        return

    def build(subentry: ConfigSubentry, person: PersonRuntime) -> list[Entity]:
        return [AvailabilitySensor(data.coordinator, subentry, person, AVAILABILITY)]

    async_add_people_entities(hass, entry, async_add_entities, build)


class AvailabilitySensor(PresenceBridgeEntity, SensorEntity):
    """A person's reported presence in the shared vocabulary, with the provider's own value."""

    entity_description: AvailabilitySensorEntityDescription

    @property
    def _reported(self) -> Reported | None:
        return self.entity_description.reported_fn(self.coordinator.client, self.known)

    @property
    @override
    def native_value(self) -> str | None:
        reported = self._reported
        return reported.shared if reported else None

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any]:
        """The provider's own value (Zoom's status, Teams' availability, the VCC definition,
        the Zulip status text), and since when it is stale."""
        reported = self._reported
        return {
            "provider_status": reported.raw if reported else None,
            "stale_since": self.stale_since,
        }

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the polls, and the changes the provider accepts between them (which the
        person's queues announce)."""
        await super().async_added_to_hass()
        for queue in self.person.queues:
            self.async_on_remove(queue.async_add_listener(self.async_write_ha_state))
