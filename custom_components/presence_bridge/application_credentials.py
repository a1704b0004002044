"""Signing in to Microsoft for Teams (delegated): the authorize and token URLs of a tenant.

Home Assistant keeps only a client id and secret per application credential, so the tenant and
the sign-in server (a national cloud's) reach the implementation through a context variable,
set by the config flow around `pick_implementation` and by setup around finding the entry's
implementation, as core's onedrive_for_business does.
"""

from collections.abc import Generator
from contextlib import contextmanager
from contextvars import ContextVar

from homeassistant.components.application_credentials import (
    AuthImplementation,
    AuthorizationServer,
    ClientCredential,
)
from homeassistant.core import HomeAssistant

from .api.msgraph import DEFAULT_LOGIN_URL
from .const import DEFAULT_TENANT, DOMAIN

_sign_in: ContextVar[tuple[str, str]] = ContextVar(f"{DOMAIN}_sign_in")
"""The sign-in server and the tenant (an id, a domain, or `organizations`)."""


@contextmanager
def sign_in_context(login_url: str, tenant: str) -> Generator[None]:
    """Sign in at `login_url`, to `tenant`, while the block runs."""
    token = _sign_in.set((login_url, tenant))
    try:
        yield
    finally:
        _sign_in.reset(token)


async def async_get_auth_implementation(
    hass: HomeAssistant, auth_domain: str, credential: ClientCredential
) -> AuthImplementation:
    """The credential's implementation for the tenant being signed in to."""
    login_url, tenant = _sign_in.get((DEFAULT_LOGIN_URL, DEFAULT_TENANT))
    base = f"{login_url.rstrip('/')}/{tenant}/oauth2/v2.0"
    return AuthImplementation(
        hass,
        auth_domain,
        credential,
        AuthorizationServer(authorize_url=f"{base}/authorize", token_url=f"{base}/token"),
    )
