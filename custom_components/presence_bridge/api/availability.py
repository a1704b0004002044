"""One vocabulary of presence for every provider.

Automations and dashboards read and ask for these values whatever the provider; each provider
module keeps its own two tables: which of its options sets a value (none where it cannot
represent it), and which value each thing it reports means.
"""

from enum import StrEnum


class Availability(StrEnum):
    """A person's presence in the shared vocabulary."""

    AVAILABLE = "available"
    BUSY = "busy"
    DO_NOT_DISTURB = "do_not_disturb"
    BE_RIGHT_BACK = "be_right_back"
    AWAY = "away"
    IN_A_MEETING = "in_a_meeting"
    PRESENTING = "presenting"
    ON_A_CALL = "on_a_call"
    OFFLINE = "offline"
    UNKNOWN = "unknown"
    """Reported, but saying nothing the other values say (or nothing at all)."""


SETTABLE: tuple[Availability, ...] = tuple(value for value in Availability if value != "unknown")
"""The values one can ask for; `unknown` is only ever reported."""
