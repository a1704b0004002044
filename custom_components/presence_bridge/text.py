"""The Status text (status message) of each controlled person."""

from typing import Any, cast, override

from homeassistant.components.text import TextEntity, TextEntityDescription
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import MAX_LENGTH_STATE_STATE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import InvalidRequestError, InvalidStatusTextError, StatusClient, StatusMessage
from .const import DOMAIN
from .coordinator import PersonRuntime, PresenceBridgeConfigEntry
from .delivery import DeliveryOutcome
from .entity import DeliveringEntity, async_add_people_entities
from .helpers import handle_api_errors, shorten

PARALLEL_UPDATES = 1

STATUS_MESSAGE = TextEntityDescription(key="status_message", translation_key="status_message")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PresenceBridgeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a Status text per person, where the provider has status messages."""
    data = entry.runtime_data
    client = data.client
    if not client.capabilities.status_message:
        return

    def build(subentry: ConfigSubentry, person: PersonRuntime) -> list[Entity]:
        return [
            StatusText(
                data.coordinator,
                subentry,
                person,
                STATUS_MESSAGE,
                queue=person.status_queue,
                client=cast("StatusClient", client),
            )
        ]

    async_add_people_entities(hass, entry, async_add_entities, build)


class StatusText(DeliveringEntity[StatusMessage, StatusClient], TextEntity):
    """A person's status text; empty clears it. The emoji is left as it is."""

    _attr_native_min = 0

    @property
    @override
    def native_max(self) -> int:
        return min(self.client.status_max_length, MAX_LENGTH_STATE_STATE)

    @property
    @override
    def native_value(self) -> str | None:
        text = self._shown_text
        return text[: self.native_max] if text is not None else None

    @property
    def _shown_text(self) -> str | None:
        """The wanted text while it is on its way, else the known one."""
        desired = self.queue.desired
        status = desired if desired and desired.text is not None else self.known.status
        return status.text if status else None

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any]:
        status = self.known.status
        return {
            # The whole text, where the state (at most 255 characters) shows it cut.
            "message": self._shown_text,
            "emoji": status.emoji_name or None if status else None,
            "read_back": self.client.can_read_status,
        } | super().extra_state_attributes

    @override
    async def async_set_value(self, value: str) -> None:
        await self.async_request_status(await self.async_check_request(value, None))

    @handle_api_errors
    async def async_check_request(self, text: str, emoji: str | None) -> StatusMessage:
        """The status to send, refused (before anything is sent) if the provider can't take it."""
        try:
            return await self.client.compose_status(text, emoji)
        except InvalidStatusTextError as err:
            if err.reason == InvalidStatusTextError.CONTROL_CHARACTERS:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="status_control_characters",
                    translation_placeholders={"entity": self.entity_id},
                ) from err
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="status_too_long",
                translation_placeholders={
                    "entity": self.entity_id,
                    "length": str(err.length if err.length is not None else len(text)),
                    "max": str(self.client.status_max_length),
                },
            ) from err
        except InvalidRequestError as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_emoji",
                translation_placeholders={"entity": self.entity_id, "emoji": shorten(emoji or "")},
            ) from err

    @handle_api_errors
    async def async_request_status(self, status: StatusMessage) -> DeliveryOutcome:
        """Send a checked status now or queue it."""
        return await self.queue.async_submit(status)
