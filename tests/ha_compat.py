"""Shims that let the pinned test harness run on a Home Assistant newer than it was built for.

`pytest-homeassistant-custom-component` is released for one Home Assistant version and lags the
newest core. CI also runs the suite on the newest `homeassistant` from PyPI (`scripts/test --ha
newest`), so where the harness breaks on that core, the smallest shim goes here and the project's
own tests run unchanged.

This is an early plugin (`-p tests.ha_compat` in `pyproject.toml`), loaded before the harness
plugin. Every shim detects the break itself and does nothing where harness and core agree.

Each shim names the harness release that made it necessary. Remove it once a harness release for
that core exists: the report header lists the shims a run used, and says when none was needed.
"""

import json
import sys

# Shim 1, harness 0.13.375 on Home Assistant 2026.11: importing `homeassistant` aliases `httpx`
# to `httpx2` and refuses if `httpx` was imported before, which the harness plugin's
# `import respx` does. Importing `homeassistant` here, before the harness plugin, is the shim.
import homeassistant  # noqa: F401
import pytest

APPLIED: list[str] = []
"""The shims this run needed, for the report header."""

if (httpx := sys.modules.get("httpx")) is not None and httpx.__name__ != "httpx":
    APPLIED.append("homeassistant imported before respx (harness 0.13.375)")


def _shim_clear_logger_overwrites() -> None:
    """Shim 2, harness 0.13.375: it imports `_clear_logger_overwrites` from `components.logger`.

    Home Assistant 2026.11 has it only in `components.logger.helpers`.
    """
    from homeassistant.components import logger

    if hasattr(logger, "_clear_logger_overwrites"):
        return
    from homeassistant.components.logger import helpers

    logger._clear_logger_overwrites = helpers._clear_logger_overwrites
    APPLIED.append("components.logger._clear_logger_overwrites (harness 0.13.375)")


def _shim_restore_cache() -> None:
    """Shim 3, harness 0.13.375: its `mock_restore_cache*` fill `RestoreStateData.last_states`.

    Home Assistant 2026.11 indexes stored states by entity id, then by registry id, and never
    reads `last_states`. The shim loads the same states through the core's own loader and moves
    each to its registry id when the entity's registry entry is created, as core setup does.
    """
    from homeassistant.helpers import entity_registry as er, restore_state
    from homeassistant.helpers.json import JSONEncoder
    from homeassistant.util import dt as dt_util
    from pytest_homeassistant_custom_component import common

    data_class = restore_state.RestoreStateData
    if not hasattr(data_class, "_async_load_stored_states"):
        return

    def mock_restore_cache_with_extra_data(hass, states) -> None:
        data = data_class(hass)
        last_seen = dt_util.utcnow().isoformat()
        data._async_load_stored_states(
            [
                {
                    "state": json.loads(json.dumps(state.as_dict(), cls=JSONEncoder)),
                    "extra_data": extra_data,
                    "last_seen": last_seen,
                }
                for state, extra_data in states
            ]
        )
        hass.bus.async_listen(
            er.EVENT_ENTITY_REGISTRY_UPDATED,
            data._async_entity_registry_entry_created,
            event_filter=restore_state._entity_registry_entry_created_filter,
        )
        restore_state.async_get.cache_clear()
        hass.data[restore_state.DATA_RESTORE_STATE] = data

    def mock_restore_cache(hass, states) -> None:
        mock_restore_cache_with_extra_data(hass, [(state, None) for state in states])

    common.mock_restore_cache = mock_restore_cache
    common.mock_restore_cache_with_extra_data = mock_restore_cache_with_extra_data
    APPLIED.append("mock_restore_cache by entity registry id (harness 0.13.375)")


_shim_clear_logger_overwrites()  # Before the harness plugin imports its `common` module.


def pytest_configure(config: pytest.Config) -> None:
    """Patch the harness's `common` once its plugin has loaded, before any test imports it."""
    _shim_restore_cache()


def pytest_report_header() -> str:
    """Name the shims this run used, so that one no longer needed is noticed and removed."""
    if not APPLIED:
        return "ha_compat: no shim needed with this Home Assistant and harness"
    return "ha_compat shims in use: " + "; ".join(APPLIED)
