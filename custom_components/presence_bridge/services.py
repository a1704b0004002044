"""Presence Bridge's actions, registered once for every provider and entry."""

import asyncio
from typing import Any, cast

from homeassistant.components.select import DOMAIN as SELECT_DOMAIN
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

from .const import ATTR_DURATION, ATTR_PRESENCE, DOMAIN
from .select import PresenceSelect

SERVICE_SET_PRESENCE = "set_presence"

SET_PRESENCE_SCHEMA: dict[vol.Marker, object] = {
    vol.Required(ATTR_PRESENCE): cv.string,
    vol.Optional(ATTR_DURATION): vol.All(vol.Coerce(int), vol.Range(min=1, max=1440)),
}


async def _async_set_presence(
    entities: list[Entity], call: ServiceCall
) -> EntityServiceResponse | None:
    """Check every target, then send to all; answer each target's outcome."""
    presence: str = call.data[ATTR_PRESENCE]
    duration: int | None = call.data.get(ATTR_DURATION)
    for entity in entities:
        if not isinstance(entity, PresenceSelect):
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="not_a_presence_entity",
                translation_placeholders={"entity": entity.entity_id},
            )
        entity.check_request(presence, duration)
    selects = cast("list[PresenceSelect]", entities)
    failures: list[HomeAssistantError] = []

    async def request(select: PresenceSelect) -> dict[str, Any]:
        try:
            outcome = await select.async_request_presence(presence, duration)
        except HomeAssistantError as err:
            failures.append(err)
            return {"result": "error", "error": str(err)}
        return outcome.as_dict()

    results = await asyncio.gather(*(request(select) for select in selects))
    if failures and not call.return_response:
        raise failures[0]
    return {select.entity_id: result for select, result in zip(selects, results, strict=True)}


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
