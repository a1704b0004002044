"""The Status text (status message) of each controlled person."""

from datetime import datetime
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
from .delivery import DeliveryOutcome, DeliveryQueue
from .entity import DeliveringEntity, async_add_people_entities
from .helpers import handle_api_errors, shorten

PARALLEL_UPDATES = 1

STATUS_MESSAGE = TextEntityDescription(key="status_message", translation_key="status_message")
CLEARED_STATUS = StatusMessage("", "", "", "")
"""No text and no emoji: what `clear` sends."""


def restore_point(
    queue: DeliveryQueue[StatusMessage], known: StatusMessage | None
) -> StatusMessage:
    """What an expiring status gives way to: what was there before it, text and emoji.

    That is what the provider last reported (cleared if nothing), or, while an earlier expiring
    status is still in force, what that one gives way to.
    """
    revert = queue.revert
    if revert is not None and revert.at is not None and revert.restores_to is not None:
        return revert.restores_to
    known = known or StatusMessage()
    return StatusMessage(
        known.text or "", known.emoji_name or "", known.emoji_code or "", known.reaction_type or ""
    )


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
    async def async_request_status(
        self, status: StatusMessage, until: datetime | None = None
    ) -> DeliveryOutcome:
        """Send a checked status now or queue it; with `until`, what was there before is
        restored then (and the provider's own expiry, where it has one, is sent with it)."""
        if until is None:
            return await self.queue.async_submit(status)
        restores_to = restore_point(self.queue, self.known.status)
        return await self.queue.async_submit(status, until=until, restores_to=restores_to)

    @override
    @handle_api_errors
    async def async_clear(self) -> DeliveryOutcome:
        """Clear the status (text and emoji); a pending revert is dropped."""
        return await self.queue.async_submit(CLEARED_STATUS)

    @override
    def describe(self, wish: StatusMessage) -> str | None:
        return wish.text
