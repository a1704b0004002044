"""Provider errors as translated Home Assistant errors."""

from homeassistant.exceptions import HomeAssistantError
import pytest

from custom_components.presence_bridge.api import InvalidRequestError, RateLimitedError
from custom_components.presence_bridge.helpers import translate_error


@pytest.mark.parametrize(
    ("error", "key", "placeholders"),
    [
        (
            InvalidRequestError("Invalid emoji", code="BAD_REQUEST"),
            "invalid_request",
            {"message": "Invalid emoji", "code": "BAD_REQUEST"},
        ),
        # An old Zulip server's error has no code: no "(code -)".
        (
            InvalidRequestError("Invalid emoji"),
            "invalid_request_without_code",
            {"message": "Invalid emoji"},
        ),
        # A rate limit nobody will retry by itself says to try later, not "in 0 seconds".
        (RateLimitedError("Slow down"), "rate_limited_try_later", {}),
    ],
)
def test_placeholders_are_never_a_dash(
    error: Exception, key: str, placeholders: dict[str, str]
) -> None:
    """Each error fills its message's placeholders with real values."""
    translated = translate_error(error)
    assert isinstance(translated, HomeAssistantError)
    assert translated.translation_key == key
    assert translated.translation_placeholders == placeholders


def test_a_rate_limit_says_when_the_retry_really_comes() -> None:
    """The caller's own retry time is shown, not the provider's missing `Retry-After`."""
    translated = translate_error(RateLimitedError("Slow down"), retry_in=60)
    assert translated.translation_key == "rate_limited"
    assert translated.translation_placeholders == {"retry_after": "60"}
