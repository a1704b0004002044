"""The Do not disturb duration of each person, for providers whose DND takes one."""

from dataclasses import replace
from typing import cast, override

from homeassistant.components.number import NumberEntityDescription, RestoreNumber
from homeassistant.components.number.const import NumberMode
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import EntityCategory, UnitOfTime
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import PresenceClient
from .coordinator import PersonRuntime, PresenceBridgeConfigEntry
from .entity import PresenceBridgeEntity, async_add_people_entities

PARALLEL_UPDATES = 0

DND_DURATION = NumberEntityDescription(
    key="dnd_duration",
    translation_key="dnd_duration",
    entity_category=EntityCategory.CONFIG,
    mode=NumberMode.BOX,
    native_step=1,
    native_unit_of_measurement=UnitOfTime.MINUTES,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PresenceBridgeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a duration per person where the provider's DND takes one."""
    data = entry.runtime_data
    client = data.client
    if not client.capabilities.default_duration:
        return
    low, high = cast("PresenceClient", client).duration_range
    description = replace(DND_DURATION, native_min_value=low, native_max_value=high)

    def build(subentry: ConfigSubentry, person: PersonRuntime) -> list[Entity]:
        return [DndDurationNumber(data.coordinator, subentry, person, description)]

    async_add_people_entities(hass, entry, async_add_entities, build)


class DndDurationNumber(PresenceBridgeEntity, RestoreNumber):
    """Minutes of Do not disturb used when the Presence select picks it; kept across restarts."""

    @property
    @override
    def available(self) -> bool:
        """A setting of ours, usable whatever the provider answers."""
        return True

    @property
    @override
    def native_value(self) -> float:
        return self.person.dnd_duration

    @override
    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        if (last := await self.async_get_last_number_data()) and last.native_value is not None:
            self.person.dnd_duration = int(last.native_value)

    @override
    async def async_set_native_value(self, value: float) -> None:
        self.person.dnd_duration = int(value)
        self.async_write_ha_state()
