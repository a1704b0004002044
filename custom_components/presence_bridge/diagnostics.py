"""Diagnostics: the entry, its people and their delivery state, with secrets redacted."""

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .coordinator import PresenceBridgeConfigEntry

TO_REDACT = {
    "access_token",
    "account_id",
    "api_key",
    "client_id",
    "client_secret",
    "email",
    "refresh_token",
    "tenant_id",
    "title",
    "token",
    "unique_id",
    "user_id",
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: PresenceBridgeConfigEntry
) -> dict[str, Any]:
    """What support needs to see, without credentials or personal data."""
    data = entry.runtime_data
    people = []
    for subentry_id, person in data.people.items():
        presence = data.coordinator.data.get(subentry_id)
        queue = person.queue
        people.append(
            {
                "user_id": person.user_id,
                "presence": presence.option if presence else None,
                "provider_status": presence.raw if presence else None,
                "pending": queue.desired.option if queue.desired else None,
                "send_at": queue.send_at.isoformat() if queue.send_at else None,
                "last_delivery_error": type(queue.last_error).__name__
                if queue.last_error
                else None,
                "dnd_duration": person.dnd_duration,
            }
        )
    return async_redact_data(
        {
            "entry": {
                "data": dict(entry.data),
                "options": dict(entry.options),
                "title": entry.title,
            },
            "subentries": [subentry.as_dict() for subentry in entry.subentries.values()],
            "last_update_success": data.coordinator.last_update_success,
            "people": people,
        },
        TO_REDACT,
    )
