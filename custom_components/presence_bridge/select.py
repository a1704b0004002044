"""The Presence select and the Status preset select of each controlled person."""

from collections.abc import Callable
from datetime import datetime
from typing import Any, cast, override

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import PresenceClient, StatusClient, StatusMessage
from .api.availability import SETTABLE, Availability
from .const import CONF_VOCABULARY, DOMAIN
from .coordinator import PersonRuntime, PresenceBridgeConfigEntry
from .delivery import DeliveryOutcome, DesiredPresence
from .entity import DeliveringEntity, async_add_people_entities
from .helpers import handle_api_errors, shorten
from .text import CLEARED_STATUS, restore_point

PARALLEL_UPDATES = 1

PRESENCE = SelectEntityDescription(key="presence", translation_key="presence")
STATUS_PRESET = SelectEntityDescription(key="status_preset", translation_key="status_preset")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PresenceBridgeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the selects the provider supports, per person."""
    data = entry.runtime_data
    client = data.client

    def build(subentry: ConfigSubentry, person: PersonRuntime) -> list[Entity]:
        about = (data.coordinator, subentry, person)
        can = client.capabilities
        entities: list[Entity] = []
        if can.presence:
            presence = cast("PresenceClient", client)
            entities.append(
                PresenceSelect(*about, PRESENCE, queue=person.presence_queue, client=presence)
            )
        if can.status_presets:
            status = cast("StatusClient", client)
            entities.append(
                StatusPresetSelect(*about, STATUS_PRESET, queue=person.status_queue, client=status)
            )
        return entities

    async_add_people_entities(hass, entry, async_add_entities, build)


def _choice_for(
    entity: PresenceSelect | StatusPresetSelect,
    presence: str,
    mapping: Callable[[Availability], str | None],
) -> str | None:
    """What `set_presence` sends this target for `presence`: one of its own options as it is,
    a shared value as the account's choice (options) or the provider's; None if it has none."""
    if presence in entity.options:
        return presence
    if presence not in SETTABLE:
        return None
    shared = Availability(presence)
    chosen = entity.coordinator.config_entry.options.get(CONF_VOCABULARY, {}).get(shared)
    return chosen if chosen in entity.options else mapping(shared)


def _settable(
    entity: PresenceSelect | StatusPresetSelect, mapping: Callable[[Availability], str | None]
) -> list[str]:
    """Every value `set_presence` can send this target: its options, then the shared values."""
    options = entity.options
    shared = [
        value.value
        for value in SETTABLE
        if value not in options and _choice_for(entity, value, mapping) is not None
    ]
    return [*options, *shared]


class PresenceSelect(DeliveringEntity[DesiredPresence, PresenceClient], SelectEntity):
    """A person's presence: shows the wanted option at once, the provider's otherwise."""

    @property
    @override
    def options(self) -> list[str]:
        return list(self.client.presence_options)

    @property
    @override
    def current_option(self) -> str | None:
        if self.queue.desired is not None:
            return self.queue.desired.option
        presence = self.known.presence
        return presence.option if presence else None

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any]:
        presence = self.known.presence
        return {
            "provider_status": presence.raw if presence else None,
            "category": presence.category if presence else None,
            "availability": presence.availability if presence else None,
            "activity": presence.activity if presence else None,
        } | super().extra_state_attributes

    @override
    async def async_select_option(self, option: str) -> None:
        await self.async_request_presence(option)

    @override
    def describe(self, wish: DesiredPresence) -> str:
        return wish.option

    @property
    def reset_option(self) -> str | None:
        """The option that hands the presence back to the provider (`clear`): its automatic
        state where it has one (Teams), else the option that means available."""
        client = self.client
        return client.automatic_option or client.option_for(Availability.AVAILABLE)

    def _restore_point(self) -> DesiredPresence | None:
        """What an expiring presence gives way to: what was there before it.

        That is what the provider last reported, or, while an earlier expiring presence is
        still in force, what that one gives way to; the automatic state if nothing is known.
        """
        revert = self.queue.revert
        if revert is not None and revert.at is not None and revert.restores_to is not None:
            return revert.restores_to
        presence = self.known.presence
        option = presence.option if presence and presence.option else self.reset_option
        if option is None:
            return None
        if option == self.client.duration_option:
            return DesiredPresence(option, self.person.dnd_duration)
        return DesiredPresence(option)

    @override
    def check_clear(self) -> str:
        """The option `clear` sends; refused when the provider has none (before anything is sent)."""
        if (option := self.reset_option) is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="clear_not_supported",
                translation_placeholders={"entity": self.entity_id},
            )
        return option

    @override
    @handle_api_errors
    async def async_clear(self) -> DeliveryOutcome:
        """Hand the presence back to the provider; a pending revert is dropped."""
        return await self.queue.async_submit(DesiredPresence(self.check_clear()))

    def choice_for(self, presence: str) -> str | None:
        """The option `set_presence` sends for `presence` (an option or a shared value)."""
        return _choice_for(self, presence, self.client.option_for)

    @property
    def settable(self) -> list[str]:
        """What `set_presence` can send this person: options, then shared values."""
        return _settable(self, self.client.option_for)

    def check_request(self, option: str, duration: int | None) -> None:
        """Refuse, before anything is sent, what this person's provider cannot take."""
        client = self.client
        if option not in client.presence_options:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_presence",
                translation_placeholders={
                    "entity": self.entity_id,
                    "presence": shorten(option),
                    "options": ", ".join(client.presence_options),
                },
            )
        if duration is None or client.takes_duration(option):
            return
        takes_duration = [
            choice for choice in client.presence_options if client.takes_duration(choice)
        ]
        if not takes_duration:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="duration_not_supported_by_provider",
                translation_placeholders={"entity": self.entity_id},
            )
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="duration_not_supported",
            translation_placeholders={
                "entity": self.entity_id,
                "presence": option,
                "duration_options": ", ".join(takes_duration),
            },
        )

    @handle_api_errors
    async def async_request_presence(
        self, option: str, duration: int | None = None, until: datetime | None = None
    ) -> DeliveryOutcome:
        """Send `option` now or queue it; a Do-not-disturb-like option takes a duration.

        With `until`, what was there before is restored then (see `PendingRevert`), and the
        provider's own expiry, where it has one, is sent with it instead of the default duration.
        """
        self.check_request(option, duration)
        if duration is None and until is None and option == self.client.duration_option:
            duration = self.person.dnd_duration
        desired = DesiredPresence(option, duration)
        if until is None or (restores_to := self._restore_point()) is None:
            return await self.queue.async_submit(desired)
        return await self.queue.async_submit(desired, until=until, restores_to=restores_to)


class StatusPresetSelect(DeliveringEntity[StatusMessage, StatusClient], SelectEntity):
    """A person's status as one of the provider's suggested statuses (text and emoji)."""

    @property
    @override
    def options(self) -> list[str]:
        return list(self.client.status_presets)

    @property
    @override
    def current_option(self) -> str | None:
        """The preset the wanted (else the known) status matches, if any."""
        status = self.queue.desired or self.known.status
        if status is None:
            return None
        shown = (status.text or "", status.emoji_name or "")
        return next(
            (
                option
                for option, preset in self.client.status_presets.items()
                if (preset.text, preset.emoji_name) == shown
            ),
            None,
        )

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any]:
        return {"read_back": self.client.can_read_status} | super().extra_state_attributes

    @override
    @handle_api_errors
    async def async_select_option(self, option: str) -> None:
        await self.queue.async_submit(self.client.status_presets[option])

    def choice_for(self, presence: str) -> str | None:
        """The preset `set_presence` sets for `presence` (a preset or a shared value)."""
        return _choice_for(self, presence, self.client.preset_for)

    @property
    def settable(self) -> list[str]:
        """What `set_presence` can set for this person: presets, then shared values."""
        return _settable(self, self.client.preset_for)

    def check_request(self, option: str, duration: int | None) -> None:
        """Refuse, before anything is sent, a preset this account lacks or a duration."""
        if option not in self.options:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_presence",
                translation_placeholders={
                    "entity": self.entity_id,
                    "presence": shorten(option),
                    "options": ", ".join(self.options),
                },
            )
        if duration is not None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="duration_not_supported_by_provider",
                translation_placeholders={"entity": self.entity_id},
            )

    @handle_api_errors
    async def async_request_presence(
        self, option: str, duration: int | None = None, until: datetime | None = None
    ) -> DeliveryOutcome:
        """Set the preset now or queue it; with `until`, what was there before comes back then."""
        self.check_request(option, duration)
        preset = self.client.status_presets[option]
        if until is None:
            return await self.queue.async_submit(preset)
        restores_to = restore_point(self.queue, self.known.status)
        return await self.queue.async_submit(preset, until=until, restores_to=restores_to)

    @override
    def describe(self, wish: StatusMessage) -> str | None:
        return wish.text

    @override
    @handle_api_errors
    async def async_clear(self) -> DeliveryOutcome:
        """Clear the status (text and emoji); a pending revert is dropped."""
        return await self.queue.async_submit(CLEARED_STATUS)
