"""Typed asyncio clients for the providers' presence APIs, with no Home Assistant import."""

from .availability import Availability
from .client import (
    OWN_USER,
    Capabilities,
    Presence,
    PresenceClient,
    ProviderClient,
    RemoteUser,
    StatusClient,
    StatusMessage,
)
from .errors import (
    AuthenticationError,
    BudgetClosedError,
    InvalidRequestError,
    InvalidStatusTextError,
    InvalidTenantError,
    InvalidUrlError,
    NotFoundError,
    PermissionMissingError,
    PresenceBridgeError,
    ProviderUnavailableError,
    RateLimitedError,
    UnexpectedResponseError,
    UserNotSignedInError,
)
from .msgraph import GraphClient
from .vonage import VonageClient
from .zoom import ZoomClient
from .zulip import ZulipClient

__all__ = [
    "OWN_USER",
    "AuthenticationError",
    "Availability",
    "BudgetClosedError",
    "Capabilities",
    "GraphClient",
    "InvalidRequestError",
    "InvalidStatusTextError",
    "InvalidTenantError",
    "InvalidUrlError",
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
    "UnexpectedResponseError",
    "UserNotSignedInError",
    "VonageClient",
    "ZoomClient",
    "ZulipClient",
]
