"""The errors every provider client raises, whatever the provider's own error format."""

import unicodedata

MESSAGE_LIMIT = 300
"""Most characters of an error's text: it is shown to users and logged, so a provider's
message is kept, a page it sent is not."""
_BIDI_CONTROLS = frozenset(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))
"""The embeddings, overrides and isolates, which reorder the text around them."""


def is_control_character(character: str) -> bool:
    """A control, line-break or text-direction character: nothing a one-line text holds.

    Other format characters (the zero-width joiner of emoji sequences) are fine.
    """
    return unicodedata.category(character) in ("Cc", "Zl", "Zp") or character in _BIDI_CONTROLS


def shorten(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """`text` on one line, control characters as spaces, cut to `limit` characters."""
    text = str(text)[: limit * 2]
    text = " ".join("".join(" " if is_control_character(c) else c for c in text).split())
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


class PresenceBridgeError(Exception):
    """Base class of everything a provider client raises; its text is at most MESSAGE_LIMIT long."""

    def __init__(self, message: str = "") -> None:
        """Keep `message`, shortened."""
        super().__init__(shorten(message))


class AuthenticationError(PresenceBridgeError):
    """The credentials or the token were rejected; only new credentials help."""


class InvalidTenantError(AuthenticationError):
    """The directory (tenant) the credentials name does not exist, or cannot sign apps in:
    a wrong tenant id or domain, rather than a wrong secret."""


class PermissionMissingError(PresenceBridgeError):
    """The credentials work but lack a permission (scope) for this call."""

    def __init__(self, message: str, *, scope: str | None = None) -> None:
        """Name the missing scope where the provider says which one."""
        super().__init__(message)
        self.scope = scope


class NotFoundError(PresenceBridgeError):
    """The user (or other resource) does not exist at the provider."""


class InvalidRequestError(PresenceBridgeError):
    """The provider (or our own check before sending) refused the request's content."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        """Keep the provider's error code beside its message (both shortened)."""
        code = shorten(code, 100) if code else code
        super().__init__(f"{message} (code {code})" if code else message)
        self.code = code
        self.provider_message = shorten(message)


class InvalidStatusTextError(InvalidRequestError):
    """A status text our own check refuses before sending; `reason` says why.

    `reason` is TOO_LONG (more code points than the provider takes) or
    CONTROL_CHARACTERS (control, line-break or text-direction override characters).
    `length` is the length of the text checked, which may be more than was typed (an emoji
    put in front of it).
    """

    TOO_LONG = "too_long"
    CONTROL_CHARACTERS = "control_characters"

    def __init__(self, message: str, *, reason: str, length: int | None = None) -> None:
        """Keep why the text was refused, and how long it was."""
        super().__init__(message)
        self.reason = reason
        self.length = length


class InvalidUrlError(InvalidRequestError, ValueError):
    """A provider URL requests cannot go to; `reason` says why. A ValueError too, as the
    clients raised before.

    UNREADABLE: not http(s), no host, a bad port. CREDENTIALS: a user name or password in
    it. INSECURE: http to another machine, where credentials would travel in the clear.
    """

    UNREADABLE = "unreadable"
    CREDENTIALS = "credentials"
    INSECURE = "insecure"

    def __init__(self, message: str, *, reason: str) -> None:
        """Keep why the URL was refused."""
        super().__init__(message)
        self.reason = reason


class UserNotSignedInError(InvalidRequestError):
    """The person is not signed in to the provider's client, so presence cannot change."""


class RateLimitedError(PresenceBridgeError):
    """The provider asked us to slow down; `retry_after` is seconds, when it said.

    `account_wide` is False for a limit on one person only (Zoom's one presence
    update per person per minute), which should not hold back anyone else.
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, account_wide: bool = True
    ) -> None:
        """Keep how long the provider asked us to wait, and for whom."""
        super().__init__(message)
        self.retry_after = retry_after
        self.account_wide = account_wide


class ProviderUnavailableError(PresenceBridgeError):
    """A 5xx, a timeout or a connection error: retrying later may succeed."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        """Keep a `Retry-After` the provider may send with a 503."""
        super().__init__(message)
        self.retry_after = retry_after


class BudgetClosedError(ProviderUnavailableError):
    """The account's client was closed (its entry unloads) while a request waited to be sent."""


class UnexpectedResponseError(ProviderUnavailableError):
    """An answer the provider's API does not give: a proxy's or captive portal's page,
    another server's (a wrong URL), an unexpected status, or a body that is malformed,
    of the wrong shape or larger than the HTTP core reads. A communication error."""
