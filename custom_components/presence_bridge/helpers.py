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


def translate_error[E: HomeAssistantError](
    err: PresenceBridgeError, error_type: type[E] = HomeAssistantError
) -> E:
    """The translated Home Assistant error (of `error_type`) for a provider error."""
    placeholders: dict[str, str] = {}
    match err:
        case UserNotSignedInError():
            key = "user_not_signed_in"
        case InvalidRequestError():
            key = "invalid_request"
            placeholders = {"code": err.code or "-", "message": err.provider_message}
        case PermissionMissingError():
            key = "missing_permission"
            placeholders = {"scope": err.scope or "-"}
        case NotFoundError():
            key = "user_not_found"
        case AuthenticationError():
            key = "invalid_auth"
        case RateLimitedError():
            key = "rate_limited"
            placeholders = {"retry_after": f"{err.retry_after or 0:.0f}"}
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
