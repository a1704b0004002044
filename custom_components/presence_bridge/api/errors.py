"""The errors every provider client raises, whatever the provider's own error format."""


class PresenceBridgeError(Exception):
    """Base class of everything a provider client raises."""


class AuthenticationError(PresenceBridgeError):
    """The credentials or the token were rejected; only new credentials help."""


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
        """Keep the provider's error code beside its message."""
        super().__init__(f"{message} (code {code})" if code else message)
        self.code = code
        self.provider_message = message


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
