"""Turning provider errors into translated Home Assistant errors, in one place."""

from collections.abc import Awaitable, Callable
from functools import wraps

from homeassistant.exceptions import HomeAssistantError

from .api import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionMissingError,
    PresenceBridgeError,
    RateLimitedError,
    UserNotSignedInError,
)
from .const import DOMAIN

ECHO_MAX = 40
"""Characters of a user's input that an error message repeats."""


def shorten(value: str) -> str:
    """A user's input as an error message repeats it: at most `ECHO_MAX` characters."""
    return value if len(value) <= ECHO_MAX else f"{value[: ECHO_MAX - 1]}…"


def translate_error[E: HomeAssistantError](
    err: PresenceBridgeError,
    error_type: type[E] = HomeAssistantError,
    *,
    retry_in: float | None = None,
) -> E:
    """The translated Home Assistant error (of `error_type`) for a provider error.

    `retry_in` is when the caller will really try again after a rate limit, if it will.
    """
    placeholders: dict[str, str] = {}
    match err:
        case UserNotSignedInError():
            key = "user_not_signed_in"
        case InvalidRequestError() if err.code:
            key = "invalid_request"
            placeholders = {"code": err.code, "message": err.provider_message}
        case InvalidRequestError():
            key = "invalid_request_without_code"
            placeholders = {"message": err.provider_message}
        case PermissionMissingError():
            key = "missing_permission"
            placeholders = {"scope": err.scope or "-"}
        case NotFoundError():
            key = "user_not_found"
        case AuthenticationError():
            key = "invalid_auth"
        case RateLimitedError() if retry_in is not None:
            key = "rate_limited"
            placeholders = {"retry_after": f"{retry_in:.0f}"}
        case RateLimitedError():
            key = "rate_limited_try_later"
        case _:
            key = "provider_unavailable"
    return error_type(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def handle_api_errors[**P, R](
    func: Callable[P, Awaitable[R]],
) -> Callable[P, Awaitable[R]]:
    """Raise provider errors from an entity action as translated Home Assistant errors."""

    @wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await func(*args, **kwargs)
        except PresenceBridgeError as err:
            raise translate_error(err) from err

    return wrapper
