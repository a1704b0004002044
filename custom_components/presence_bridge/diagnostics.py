"""Diagnostics: the entry, its people and their delivery state, with secrets redacted."""

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics.util import async_redact_data
from homeassistant.core import HomeAssistant

from .coordinator import PresenceBridgeConfigEntry, PresenceCoordinator

TO_REDACT = {
    "access_token",
    "account_id",
    "api_key",
    "client_id",
    "client_secret",
    "email",
    "refresh_token",
    "tenant",
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
        known = data.coordinator.data.people.get(subentry_id)
        queues = {"presence": person.presence_queue, "status": person.status_queue}
        people.append(
            {
                "user_id": person.user_id,
                "presence": known.presence.option if known and known.presence else None,
                "provider_status": known.presence.raw if known and known.presence else None,
                "has_status": bool(known and known.status and known.status.text),
                "dnd_duration": person.dnd_duration,
                "delivery": {
                    kind: {
                        "pending": queue.pending,
                        "send_at": queue.send_at.isoformat() if queue.send_at else None,
                        "last_error": type(queue.last_error).__name__ if queue.last_error else None,
                    }
                    for kind, queue in queues.items()
                    if queue is not None
                },
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
            "polls": _polls(data.coordinator),
            "budget": asdict(data.client.budget.state()),
            "people": people,
        },
        TO_REDACT,
    )


def _polls(coordinator: PresenceCoordinator) -> dict[str, Any] | None:
    """How often the account is read, and whether its budget stretched the interval."""
    if (plan := coordinator.poll_plan) is None:
        return None
    return {
        "people": plan.people,
        "requests_per_poll": plan.requests,
        "interval_wanted": plan.wanted.total_seconds(),
        "interval": plan.interval.total_seconds(),
        "stretched": plan.stretched,
    }
