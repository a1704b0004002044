"""Typed asyncio clients for the providers' presence APIs, with no Home Assistant import."""

from .client import (
    Presence,
    PresenceClient,
    ProviderClient,
    RemoteUser,
    StatusClient,
    StatusMessage,
)
from .errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionMissingError,
    PresenceBridgeError,
    ProviderUnavailableError,
    RateLimitedError,
    UserNotSignedInError,
)
from .vonage import VonageClient
from .zoom import ZoomClient

__all__ = [
    "AuthenticationError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionMissingError",
    "Presence",
    "PresenceBridgeError",
    "PresenceClient",
    "ProviderClient",
    "ProviderUnavailableError",
    "RateLimitedError",
    "RemoteUser",
    "StatusClient",
    "StatusMessage",
    "UserNotSignedInError",
    "VonageClient",
    "ZoomClient",
]
