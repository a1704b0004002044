"""Presence Bridge's actions, registered once for every provider and entry."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from homeassistant.components.select.const import DOMAIN as SELECT_DOMAIN
from homeassistant.components.text.const import DOMAIN as TEXT_DOMAIN
from homeassistant.core import (
    EntityServiceResponse,
    HomeAssistant,
    ServiceCall,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.service import async_register_batched_platform_entity_service
import voluptuous as vol

from .api import StatusClient, StatusMessage
from .const import ATTR_DURATION, ATTR_EMOJI, ATTR_MESSAGE, ATTR_PRESENCE, DOMAIN
from .delivery import DeliveryOutcome
from .select import PresenceSelect
from .text import StatusText

SERVICE_SET_PRESENCE = "set_presence"
SERVICE_SET_STATUS_MESSAGE = "set_status_message"

SET_PRESENCE_SCHEMA: dict[vol.Marker, object] = {
    vol.Required(ATTR_PRESENCE): cv.string,
    vol.Optional(ATTR_DURATION): vol.All(vol.Coerce(int), vol.Range(min=1, max=1440)),
}
SET_STATUS_MESSAGE_SCHEMA: dict[vol.Marker, object] = {
    vol.Required(ATTR_MESSAGE): vol.Any(cv.string, None),
    vol.Optional(ATTR_EMOJI): cv.string,
}


def _targets[E: Entity](entities: list[Entity], kind: type[E], key: str) -> list[E]:
    """The targets, all of the entity class the action acts on."""
    for entity in entities:
        if not isinstance(entity, kind):
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key=key,
                translation_placeholders={"entity": entity.entity_id},
            )
    return [entity for entity in entities if isinstance(entity, kind)]


async def _async_answer_each(
    call: ServiceCall, requests: dict[str, Callable[[], Awaitable[DeliveryOutcome]]]
) -> EntityServiceResponse:
    """Run every target's request at once; answer each outcome, or raise the first error."""
    failures: list[HomeAssistantError] = []

    async def outcome(request: Callable[[], Awaitable[DeliveryOutcome]]) -> dict[str, Any]:
        try:
            return (await request()).as_dict()
        except HomeAssistantError as err:
            failures.append(err)
            return {"result": "error", "error": str(err)}

    results = await asyncio.gather(*(outcome(request) for request in requests.values()))
    if failures and not call.return_response:
        raise failures[0]
    return dict(zip(requests, results, strict=True))


async def _async_set_presence(
    entities: list[Entity], call: ServiceCall
) -> EntityServiceResponse | None:
    """Check every target, then send to all; answer each target's outcome."""
    presence: str = call.data[ATTR_PRESENCE]
    duration: int | None = call.data.get(ATTR_DURATION)
    selects = _targets(entities, PresenceSelect, "not_a_presence_entity")
    for select in selects:
        select.check_request(presence, duration)
    return await _async_answer_each(
        call,
        {
            select.entity_id: lambda select=select: select.async_request_presence(
                presence, duration
            )
            for select in selects
        },
    )


async def _async_set_status_message(
    entities: list[Entity], call: ServiceCall
) -> EntityServiceResponse | None:
    """Check every target (length, emoji), then send to all; answer each target's outcome."""
    message: str = call.data[ATTR_MESSAGE] or ""
    emoji: str | None = call.data.get(ATTR_EMOJI)
    texts = _targets(entities, StatusText, "not_a_status_entity")
    # The check (length limit, emoji lookup) depends only on the account: once each.
    checked: dict[StatusClient, StatusMessage] = {}
    for text in texts:
        if text.client not in checked:
            checked[text.client] = await text.async_check_request(message, emoji)
    return await _async_answer_each(
        call,
        {
            text.entity_id: lambda text=text: text.async_request_status(checked[text.client])
            for text in texts
        },
    )


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions; called from `async_setup`."""
    async_register_batched_platform_entity_service(
        hass,
        DOMAIN,
        SERVICE_SET_PRESENCE,
        entity_domain=SELECT_DOMAIN,
        schema=SET_PRESENCE_SCHEMA,
        func=_async_set_presence,
        supports_response=SupportsResponse.OPTIONAL,
    )
    async_register_batched_platform_entity_service(
        hass,
        DOMAIN,
        SERVICE_SET_STATUS_MESSAGE,
        entity_domain=TEXT_DOMAIN,
        schema=SET_STATUS_MESSAGE_SCHEMA,
        func=_async_set_status_message,
        supports_response=SupportsResponse.OPTIONAL,
    )
