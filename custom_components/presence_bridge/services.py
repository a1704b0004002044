"""Presence Bridge's actions, registered once for every provider and entry."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from homeassistant.components.select.const import DOMAIN as SELECT_DOMAIN
from homeassistant.components.text.const import DOMAIN as TEXT_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID, ENTITY_MATCH_ALL
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
from homeassistant.helpers.entity_platform import async_get_platforms
from homeassistant.helpers.service import batched_entity_service_call
from homeassistant.helpers.target import TargetSelection, async_extract_referenced_entity_ids
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .api import StatusClient, StatusMessage
from .api.availability import SETTABLE
from .const import (
    ATTR_DURATION,
    ATTR_EMOJI,
    ATTR_EXPIRES_AFTER,
    ATTR_MESSAGE,
    ATTR_PRESENCE,
    ATTR_UNTIL,
    DOMAIN,
)
from .delivery import DeliveryOutcome
from .entity import DeliveringEntity
from .select import PresenceSelect, StatusPresetSelect
from .text import StatusText

SERVICE_SET_PRESENCE = "set_presence"
SERVICE_SET_STATUS_MESSAGE = "set_status_message"
SERVICE_CLEAR = "clear"


def _whole_minutes(value: object) -> int:
    """A duration in whole minutes: 45 or "45", not 1.7 or true."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise vol.Invalid("expected whole minutes")
    return vol.Coerce(int)(value)


EXPIRY_SCHEMA: dict[vol.Marker, object] = {
    vol.Optional(ATTR_EXPIRES_AFTER): cv.positive_time_period,
    vol.Optional(ATTR_UNTIL): cv.datetime,
}
SET_PRESENCE_SCHEMA: dict[vol.Marker, object] = {
    vol.Required(ATTR_PRESENCE): cv.string,
    vol.Optional(ATTR_DURATION): vol.All(_whole_minutes, vol.Range(min=1, max=1440)),
    **EXPIRY_SCHEMA,
}
SET_STATUS_MESSAGE_SCHEMA: dict[vol.Marker, object] = {
    vol.Required(ATTR_MESSAGE): vol.Any(cv.string, None),
    vol.Optional(ATTR_EMOJI): cv.string,
    **EXPIRY_SCHEMA,
}


def _expiry(call: ServiceCall) -> datetime | None:
    """When the call's wish ends: `expires_after` from now, or `until`; None for never.

    Both at once, or a time not in the future, is refused before anything is sent.
    """
    expires_after: timedelta | None = call.data.get(ATTR_EXPIRES_AFTER)
    until: datetime | None = call.data.get(ATTR_UNTIL)
    if expires_after is not None and until is not None:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="expiry_conflict")
    now = dt_util.utcnow()
    if expires_after is not None:
        until = now + expires_after
    elif until is not None:
        until = dt_util.as_utc(until)  # a time without a zone is Home Assistant's local time
    else:
        return None
    if until <= now:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="expiry_not_in_future",
            translation_placeholders={"until": until.isoformat()},
        )
    return until


def _targets[E: Entity](
    entities: list[Entity], call: ServiceCall, kind: type[E] | tuple[type[E], ...], key: str
) -> list[E]:
    """The targets, all of the entity class the action acts on, with the caller's context."""
    for entity in entities:
        if not isinstance(entity, kind):
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key=key,
                translation_placeholders={"entity": entity.entity_id},
            )
    targets = [entity for entity in entities if isinstance(entity, kind)]
    for entity in targets:
        # The state the action writes carries who asked for it (logbook, automations).
        entity.async_set_context(call.context)
    return targets


@dataclass(frozen=True, slots=True)
class Unsupported:
    """A target that cannot take the shared value asked for, and what it can take."""

    supported: list[str]

    def as_dict(self) -> dict[str, Any]:
        """The answer for the target."""
        return {"result": "unsupported", "supported": self.supported}


async def _async_answer_each(
    call: ServiceCall,
    requests: dict[str, Callable[[], Awaitable[DeliveryOutcome | Unsupported]]],
    until: datetime | None = None,
) -> EntityServiceResponse:
    """Run every target's request at once; answer each outcome, or raise the first error.

    An expiring wish's answers say when it ends (`expires_at`).
    """
    failures: list[HomeAssistantError] = []
    expiry = {"expires_at": until.isoformat()} if until is not None else {}

    async def outcome(
        request: Callable[[], Awaitable[DeliveryOutcome | Unsupported]],
    ) -> dict[str, Any]:
        try:
            answer = await request()
            return answer.as_dict() | (expiry if isinstance(answer, DeliveryOutcome) else {})
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
    """Check every target, then send to all; answer each target's outcome.

    The presence is a target's own option, or a shared value each target maps to its own
    (a Zulip person's Status preset select to a preset). A target that cannot take a shared
    value answers `unsupported` while the others proceed; if none can, or if a value that is
    not shared is not an option of every target, nothing is sent.
    """
    presence: str = call.data[ATTR_PRESENCE]
    duration: int | None = call.data.get(ATTR_DURATION)
    until = _expiry(call)
    targets = _targets(
        entities, call, (PresenceSelect, StatusPresetSelect), "not_a_presence_entity"
    )
    choices = {target: target.choice_for(presence) for target in targets}
    if presence not in SETTABLE:
        for target, choice in choices.items():
            if choice is None:  # not its option: refused, naming what it has
                target.check_request(presence, duration)
    elif not any(choices.values()):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="presence_not_supported",
            translation_placeholders={
                "presence": presence,
                "options": ", ".join(dict.fromkeys(v for t in targets for v in t.settable)),
            },
        )
    for target, choice in choices.items():
        if choice is not None:
            target.check_request(choice, duration)

    async def unsupported(target: PresenceSelect | StatusPresetSelect) -> Unsupported:
        return Unsupported(target.settable)

    return await _async_answer_each(
        call,
        {
            target.entity_id: (
                lambda target=target, choice=choice: target.async_request_presence(
                    choice, duration, until
                )
            )
            if choice is not None
            else (lambda target=target: unsupported(target))
            for target, choice in choices.items()
        },
        until,
    )


async def _async_set_status_message(
    entities: list[Entity], call: ServiceCall
) -> EntityServiceResponse | None:
    """Check every target (length, emoji), then send to all; answer each target's outcome."""
    message: str = call.data[ATTR_MESSAGE] or ""
    emoji: str | None = call.data.get(ATTR_EMOJI)
    until = _expiry(call)
    texts = _targets(entities, call, StatusText, "not_a_status_entity")
    # The check (length limit, emoji lookup) depends only on the account: once each.
    checked: dict[StatusClient, StatusMessage] = {}
    for text in texts:
        if text.client not in checked:
            checked[text.client] = await text.async_check_request(message, emoji)
    return await _async_answer_each(
        call,
        {
            text.entity_id: lambda text=text: text.async_request_status(checked[text.client], until)
            for text in texts
        },
        until,
    )


async def _async_clear(entities: list[Entity], call: ServiceCall) -> EntityServiceResponse | None:
    """Hand every target back to its provider's automatic state; answer each target's outcome.

    A person's Status text and Status preset share one status: it is cleared once, and both
    answer its outcome.
    """
    targets = _targets(entities, call, DeliveringEntity, "not_clearable")
    for entity in targets:
        entity.check_clear()
    cleared: dict[int, asyncio.Task[DeliveryOutcome]] = {}

    async def clear(entity: DeliveringEntity[Any, Any]) -> DeliveryOutcome:
        if (key := id(entity.queue)) not in cleared:
            cleared[key] = asyncio.create_task(entity.async_clear())
        return await cleared[key]

    return await _async_answer_each(
        call, {entity.entity_id: lambda entity=entity: clear(entity) for entity in targets}
    )


@callback
def _async_register_action(
    hass: HomeAssistant,
    service: str,
    *,
    entity_domain: str | tuple[str, ...],
    schema: dict[vol.Marker, object],
    func: Callable[[list[Entity], ServiceCall], Awaitable[EntityServiceResponse | None]],
    not_ours_key: str,
    no_target_key: str,
) -> None:
    """Register an action run once for all its targets: our entities of `entity_domain` (one
    entity domain, or several).

    Home Assistant's own batched registration skips a target that is unknown or of another
    integration with only a logged warning, and runs nothing when no target is left, so an
    automation would do nothing in silence. Here such a call is refused, with a translated error.
    """

    domains = (entity_domain,) if isinstance(entity_domain, str) else entity_domain

    def ours() -> dict[str, Entity]:
        return {
            entity.entity_id: entity
            for platform in async_get_platforms(hass, DOMAIN)
            if platform.domain in domains
            for entity in platform.entities.values()
        }

    async def handle(call: ServiceCall) -> EntityServiceResponse | None:
        entities = ours()
        if call.data.get(ATTR_ENTITY_ID) != ENTITY_MATCH_ALL:
            selected = async_extract_referenced_entity_ids(hass, TargetSelection(call.data))
            for entity_id in sorted(selected.referenced - entities.keys()):
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key=not_ours_key,
                    translation_placeholders={"entity": entity_id},
                )
            if not (selected.referenced | selected.indirectly_referenced) & entities.keys():
                raise ServiceValidationError(
                    translation_domain=DOMAIN, translation_key=no_target_key
                )
        return await batched_entity_service_call(hass, entities, func, call)

    hass.services.async_register(
        DOMAIN,
        service,
        handle,
        cv.make_entity_service_schema(schema),
        SupportsResponse.OPTIONAL,
    )


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions; called from `async_setup`."""
    _async_register_action(
        hass,
        SERVICE_SET_PRESENCE,
        entity_domain=SELECT_DOMAIN,
        schema=SET_PRESENCE_SCHEMA,
        func=_async_set_presence,
        not_ours_key="not_a_presence_entity",
        no_target_key="no_presence_targets",
    )
    _async_register_action(
        hass,
        SERVICE_SET_STATUS_MESSAGE,
        entity_domain=TEXT_DOMAIN,
        schema=SET_STATUS_MESSAGE_SCHEMA,
        func=_async_set_status_message,
        not_ours_key="not_a_status_entity",
        no_target_key="no_status_targets",
    )
    _async_register_action(
        hass,
        SERVICE_CLEAR,
        entity_domain=(SELECT_DOMAIN, TEXT_DOMAIN),
        schema={},
        func=_async_clear,
        not_ours_key="not_clearable",
        no_target_key="no_clear_targets",
    )
