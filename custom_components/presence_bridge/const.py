"""Constants for Presence Bridge."""

from datetime import timedelta
import logging
from typing import Final

DOMAIN: Final = "presence_bridge"
LOGGER = logging.getLogger(__package__)

CONF_PROVIDER: Final = "provider"
CONF_ACCOUNT_ID: Final = "account_id"
CONF_CLIENT_ID: Final = "client_id"
CONF_CLIENT_SECRET: Final = "client_secret"
CONF_USER_ID: Final = "user_id"
CONF_API_URL: Final = "api_url"
CONF_OAUTH_URL: Final = "oauth_url"
CONF_AUTH_URL: Final = "auth_url"
CONF_REGION: Final = "region"
CONF_URL: Final = "url"
CONF_EMAIL: Final = "email"
CONF_API_KEY: Final = "api_key"
CONF_ZULIPRC: Final = "zuliprc"
CONF_ADVANCED: Final = "advanced"
CONF_UPDATE_INTERVAL: Final = "update_interval"
CONF_TENANT_ID: Final = "tenant_id"
CONF_LOGIN_URL: Final = "login_url"
CONF_KEEP_SESSION: Final = "keep_session"
CONF_PLAN: Final = "plan"
CONF_VOCABULARY: Final = "vocabulary"
"""Options: the account's own choice (an option or a preset) for some shared values."""
CONF_REQUESTS_PER_MINUTE: Final = "requests_per_minute"

PROVIDER_ZOOM: Final = "zoom"
PROVIDER_VONAGE: Final = "vonage"
PROVIDER_ZULIP: Final = "zulip"
PROVIDER_MSGRAPH: Final = "msgraph"
PROVIDER_MSGRAPH_OAUTH: Final = "msgraph_oauth"
CONF_TENANT: Final = "tenant"
DEFAULT_TENANT: Final = "organizations"

SUBENTRY_USER: Final = "user"

DEFAULT_UPDATE_INTERVAL = timedelta(seconds=60)
DEFAULT_DND_DURATION: Final = 20

ATTR_PRESENCE: Final = "presence"
ATTR_DURATION: Final = "duration"
ATTR_MESSAGE: Final = "message"
ATTR_EMOJI: Final = "emoji"
ATTR_EXPIRES_AFTER: Final = "expires_after"
ATTR_UNTIL: Final = "until"

EVENT_DELIVERY_FAILED: Final = "presence_bridge_delivery_failed"
"""Fired when a wanted presence or status cannot be delivered, for good."""
