"""The interface Home Assistant uses for every provider, and the models it returns."""

from abc import ABC, abstractmethod
import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar

from .availability import Availability
from .budget import RequestBudget
from .errors import InvalidRequestError, InvalidStatusTextError, NotFoundError, is_control_character


@dataclass(frozen=True, slots=True)
class RemoteUser:
    """A person at the provider."""

    user_id: str
    display_name: str
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Presence:
    """A person's presence as the provider reports it.

    `option` is the settable option it matches, or None when the provider reports a
    status that cannot be set (Zoom's `Offline`, say); `raw` is the provider's value
    (for Vonage, the definition's description); `category` is the provider's group
    of it, where it has one (Vonage's `Ready`, `Away`, …); `activity` what the person
    is doing within it, where the provider says (Graph's `InAMeeting`, `OffWork`, …).
    """

    option: str | None
    raw: str
    end_time: str | None = None
    category: str | None = None
    activity: str | None = None
    availability: str | None = None
    """Graph's availability (Teams), beside its activity; None for other providers."""


@dataclass(frozen=True, slots=True)
class StatusMessage:
    """A person's status message; a None field is left as it is when sending."""

    text: str | None = None
    emoji_name: str | None = None
    emoji_code: str | None = None
    reaction_type: str | None = None


MAX_CONCURRENT_READS = 4
"""Reads of one poll in flight at once, so that a poll of many people is not one burst."""


async def gather_known[V](
    user_ids: Iterable[str], fetch: Callable[[str], Awaitable[V]]
) -> dict[str, V]:
    """`fetch` each person, a few at a time; people the provider does not know are left out."""
    user_ids = list(user_ids)
    slots = asyncio.Semaphore(MAX_CONCURRENT_READS)

    async def bounded(user_id: str) -> V:
        async with slots:
            return await fetch(user_id)

    results = await asyncio.gather(
        *(bounded(user_id) for user_id in user_ids), return_exceptions=True
    )
    known: dict[str, V] = {}
    for user_id, result in zip(user_ids, results, strict=True):
        if isinstance(result, NotFoundError):
            continue
        if isinstance(result, BaseException):
            raise result
        known[user_id] = result
    return known


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a provider client can do; Home Assistant creates each person's entities from it."""

    presence: bool = False
    """Sets and reads presence: a Presence select."""
    default_duration: bool = False
    """One option (`duration_option`) takes minutes, with a default set per person: a number."""
    status_message: bool = False
    """Sets a status message: a Status text."""
    status_presets: bool = False
    """Offers complete statuses by name: a Status preset select."""
    add_people: bool = True
    """May act for people other than the credentials' own user."""
    presence_session: bool = False
    """A presence set shows only while a presence session is kept (see `session_lifetime`)."""


OWN_USER = "me"
"""`get_user(OWN_USER)` is the credentials' own user, for providers that act as one."""


class ProviderClient(ABC):
    """One provider account and the people it can act for."""

    manufacturer: ClassVar[str]
    budget: RequestBudget
    """The account's request budget, which every request of the account waits in."""

    def poll_requests(self, people: int) -> int:
        """Requests one poll of `people` people costs: by default one read each."""
        return people

    @property
    def can_add_people(self) -> bool:
        """Whether the account may act for people other than those it was set up with."""
        return True

    @property
    def capabilities(self) -> Capabilities:
        """What this client can do, as of what it learnt of the account (see `prepare`)."""
        return Capabilities(
            presence=isinstance(self, PresenceClient),
            default_duration=isinstance(self, PresenceClient) and self.duration_option is not None,
            status_message=isinstance(self, StatusClient),
            status_presets=isinstance(self, StatusClient) and bool(self.status_presets),
            add_people=self.can_add_people,
            presence_session=isinstance(self, PresenceClient) and self.session_lifetime is not None,
        )

    @abstractmethod
    async def check_credentials(self) -> None:
        """Prove the credentials work, without reading any person."""

    async def prepare(self) -> None:  # noqa: B027 - most providers need nothing here
        """Learn what the account can do, once before the first read."""

    @abstractmethod
    async def get_user(self, user_id: str) -> RemoteUser:
        """Look a person up by the id or email address a user typed."""

    async def list_users(self) -> list[RemoteUser] | None:
        """Everyone the credentials may list, or None where the provider or account cannot."""
        return None


class StatusClient(ProviderClient):
    """A provider account that sets people's status message (text and emoji)."""

    status_max_length: ClassVar[int]
    """Longest text the provider takes, in code points."""
    status_presets: ClassVar[dict[str, StatusMessage]] = {}
    """Named complete statuses, offered as a select."""

    @property
    def can_read_status(self) -> bool:
        """Whether `get_statuses` works; without it, statuses are write-only."""
        return True

    def check_status_text(self, text: str) -> None:
        """Refuse, before any request, a text the provider would refuse or should not show.

        Raises `InvalidStatusTextError` with `reason` TOO_LONG, or CONTROL_CHARACTERS
        for control characters (NUL, ESC, line breaks …) and text-direction overrides.
        """
        if len(text) > self.status_max_length:
            raise InvalidStatusTextError(
                f"Status text is {len(text)} characters; the limit is {self.status_max_length}",
                reason=InvalidStatusTextError.TOO_LONG,
                length=len(text),
            )
        if any(is_control_character(character) for character in text):
            raise InvalidStatusTextError(
                "Status text contains control or text-direction characters",
                reason=InvalidStatusTextError.CONTROL_CHARACTERS,
            )

    async def resolve_emoji(self, name: str) -> StatusMessage:
        """The emoji fields (name, code, type) for an emoji name; unknown raises.

        A provider without emoji refuses every name.
        """
        raise InvalidRequestError(f"This provider has no emoji named {name[:40]!r}")

    async def compose_status(self, text: str, emoji: str | None) -> StatusMessage:
        """The checked status to send for a text and, optionally, an emoji name.

        Raises `InvalidStatusTextError` for the text, `InvalidRequestError` for the emoji.
        """
        self.check_status_text(text)
        if emoji is None:
            return StatusMessage(text=text)
        resolved = await self.resolve_emoji(emoji)
        return StatusMessage(text, resolved.emoji_name, resolved.emoji_code, resolved.reaction_type)

    preset_for_shared: ClassVar[Mapping[Availability, str]] = {}
    """The preset that says each shared value; a value missing here has none."""
    shared_by_preset: ClassVar[Mapping[str, Availability]] = {}
    """What each preset means in the shared vocabulary; a preset missing here, nothing."""

    def preset_of(self, status: StatusMessage) -> str | None:
        """The preset whose text and emoji a status shows, if any."""
        shown = (status.text or "", status.emoji_name or "")
        return next(
            (
                name
                for name, preset in self.status_presets.items()
                if (preset.text, preset.emoji_name) == shown
            ),
            None,
        )

    def preset_for(self, shared: Availability) -> str | None:
        """The preset to set for a shared value, or None where no preset says it."""
        preset = self.preset_for_shared.get(shared)
        return preset if preset in self.status_presets else None

    def shared_of_status(self, status: StatusMessage) -> Availability:
        """What a status means in the shared vocabulary: only a preset says something."""
        preset = self.preset_of(status)
        return self.shared_by_preset.get(preset or "", Availability.UNKNOWN)

    @abstractmethod
    async def get_statuses(self, user_ids: Iterable[str]) -> dict[str, StatusMessage]:
        """Current status of each person; people the provider no longer knows are left out."""

    @abstractmethod
    async def _send_status(self, user_id: str, status: StatusMessage) -> None:
        """Send an already checked status."""

    async def set_status(self, user_id: str, status: StatusMessage) -> None:
        """Set a person's status; fields left None stay as they are."""
        if status.text is not None:
            self.check_status_text(status.text)
        await self._send_status(user_id, status)


class PresenceClient(ProviderClient):
    """A provider account that sets people's presence."""

    update_interval_per_user: ClassVar[float] = 0.0
    """Seconds the provider wants between two updates of one person."""
    duration_option: ClassVar[str | None] = None
    """The option whose duration in minutes has a default a person sets (Zoom's DND), if any."""
    duration_range: ClassVar[tuple[int, int]] = (1, 1440)

    automatic_option: ClassVar[str | None] = None
    """The option that hands the person's presence back to the provider, if any."""
    session_lifetime: ClassVar[float | None] = None
    """Seconds a presence session lasts, where a presence set shows only while one is kept."""

    async def keep_session(self, user_id: str) -> None:
        """Keep (open or renew) the person's presence session, where `session_lifetime`."""
        raise NotImplementedError

    async def end_session(self, user_id: str) -> None:
        """End the person's presence session, where `session_lifetime`."""
        raise NotImplementedError

    option_for_shared: ClassVar[Mapping[Availability, str]] = {}
    """The option that sets each shared value; a value missing here cannot be set."""

    def option_for(self, shared: Availability) -> str | None:
        """The option to set for a shared value, or None where the provider cannot say it."""
        option = self.option_for_shared.get(shared)
        return option if option in self.presence_options else None

    @abstractmethod
    def shared_of(self, presence: Presence) -> Availability:
        """What a reported (or just accepted) presence means in the shared vocabulary."""

    def takes_duration(self, option: str) -> bool:
        """Whether `option` may be sent with a duration in minutes."""
        return option == self.duration_option

    @property
    @abstractmethod
    def presence_options(self) -> tuple[str, ...]:
        """The options `set_presence` accepts.

        Fixed sets are lowercase snake_case keys (translated in Home Assistant);
        sets the account defines (Vonage) are its own names, as of the last read.
        """

    @abstractmethod
    async def get_presences(self, user_ids: Iterable[str]) -> dict[str, Presence]:
        """Current presence of each person; people the provider no longer knows are left out."""

    @abstractmethod
    async def _send_presence(self, user_id: str, option: str, duration: int | None) -> None:
        """Send an already checked presence."""

    def accepted_presence(self, option: str) -> Presence:
        """The presence a person has once the provider accepted `option`."""
        return Presence(option, option)

    def check_presence(self, option: str, duration: int | None = None) -> None:
        """Refuse, before any request, an option or duration the provider cannot take."""
        if option not in self.presence_options:
            raise InvalidRequestError(
                f"Unknown presence {option!r}; valid: {', '.join(self.presence_options)}"
            )
        if duration is None:
            return
        if not self.takes_duration(option):
            raise InvalidRequestError(f"{option!r} takes no duration")
        low, high = self.duration_range
        if not low <= duration <= high:
            raise InvalidRequestError(f"Duration {duration} is outside {low}-{high} minutes")

    async def set_presence(self, user_id: str, option: str, duration: int | None = None) -> None:
        """Set a person's presence; `duration` (minutes) only where `takes_duration`."""
        self.check_presence(option, duration)
        await self._send_presence(user_id, option, duration)
