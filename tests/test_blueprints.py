"""The automation blueprints in blueprints/automation/presence_bridge, loaded in Home Assistant.

Each test copies the blueprints into the test configuration's blueprints folder, sets up an
automation that uses one, flips its trigger entity and checks what reached the fake Zoom, both
when the condition starts and when it ends and the previous presence comes back.
"""

import asyncio
from datetime import timedelta
import json
from pathlib import Path
import re
import shutil
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint.importer import fetch_blueprint_from_url
from homeassistant.components.blueprint.models import Blueprint
from homeassistant.components.blueprint.schemas import BLUEPRINT_SCHEMA
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import yaml as yaml_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from pytest_homeassistant_custom_component.test_util.aiohttp import AiohttpClientMocker

from custom_components.presence_bridge.const import DOMAIN

from .fake_zoom import FakeZoom
from .test_select import ALICE, puts, select_option

ROOT = Path(__file__).parent.parent
BLUEPRINTS = ROOT / "blueprints" / "automation" / DOMAIN
NAMES = (
    "do_not_disturb_while_on",
    "away_when_nobody_home",
    "in_a_meeting_during_calendar_event",
)
DOOR = "binary_sensor.office_door"
FOCUS = "input_boolean.focus"
HOME = "zone.home"
CALENDAR = "calendar.work"
AUTOMATION = "automation.blueprint"

WAIT = "Wait for the condition to end"
"""The alias of each blueprint's wait for its condition to end."""

DND = {"status": "Do_Not_Disturb", "duration": 20}
"""Do not disturb with the person's Do not disturb duration (20 minutes by default)."""


def _repository() -> str:
    """The repository's GitHub URL, from manifest.json."""
    manifest = json.loads((ROOT / "custom_components" / DOMAIN / "manifest.json").read_text())
    documentation: str = manifest["documentation"]
    assert manifest["issue_tracker"] == f"{documentation}/issues"
    return documentation


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """A configuration directory of the test's own, where the blueprints are copied."""
    return hass_tmp_config_dir


def _copy_blueprints(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for path in BLUEPRINTS.glob("*.yaml"):
        shutil.copy(path, folder / path.name)


async def use_blueprint(hass: HomeAssistant, name: str, inputs: dict[str, Any]) -> None:
    """Copy the blueprints where Home Assistant looks for them and set up one automation."""
    folder = Path(hass.config.path(f"blueprints/automation/{DOMAIN}/"))
    await hass.async_add_executor_job(_copy_blueprints, folder)
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "id": "blueprint",
                "alias": "Blueprint",
                "use_blueprint": {"path": f"{DOMAIN}/{name}.yaml", "input": inputs},
            }
        },
    )
    await hass.async_block_till_done()
    assert hass.states.get(AUTOMATION).state == "on"


def _runs_an_automation(task: asyncio.Future[Any]) -> bool:
    coroutine = task.get_coro() if isinstance(task, asyncio.Task) else None
    return str(getattr(coroutine, "__qualname__", "")).startswith("AutomationEntity.")


async def settle(hass: HomeAssistant) -> None:
    """Run what is due, until the automation has finished or waits for its condition to end.

    `hass.async_block_till_done` would wait for the automation's run, which waits as long as
    the condition holds; so this waits for every other task, and for the run to reach its wait.
    """
    automations = hass.data.get("automation")  # its EntityComponent, once set up
    automation = automations.get_entity(AUTOMATION) if automations else None
    waiting = 0
    for _ in range(400):
        await asyncio.sleep(0)
        others = [
            task
            for task in hass._tasks | hass._background_tasks
            if not task.done() and not _runs_an_automation(task)
        ]
        if others:
            await asyncio.wait(others)
            continue
        if automation is None or not automation.action_script.is_running:
            return
        if automation.action_script.last_action == WAIT:
            # A wait that has just ended resumes the run a loop iteration later
            waiting += 1
            if waiting == 5:
                return
            continue
        waiting = 0
        await hass.async_add_executor_job(time.sleep, 0.005)  # the provider's answer
    pytest.fail("the automation neither finished nor reached its wait")


async def advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    """`conftest.advance`, with an automation that may be waiting for its condition to end."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await settle(hass)


async def flip(hass: HomeAssistant, entity_id: str, state: str) -> None:
    """Set the trigger entity's state and let the automation run."""
    hass.states.async_set(entity_id, state)
    await settle(hass)


# --- The files -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_blueprint_schema(name: str) -> None:
    """Each file is an automation blueprint Home Assistant accepts, pointing at this repository."""
    path = BLUEPRINTS / f"{name}.yaml"
    data = yaml_util.load_yaml_dict(path)
    for schema in (BLUEPRINT_SCHEMA, AUTOMATION_BLUEPRINT_SCHEMA):
        blueprint = Blueprint(data, path=str(path), expected_domain="automation", schema=schema)
        assert blueprint.validate() is None
    metadata = blueprint.metadata
    assert metadata["domain"] == "automation"
    assert metadata["name"].startswith("Presence Bridge - ")
    assert metadata["source_url"] == (
        f"{_repository()}/blob/main/blueprints/automation/{DOMAIN}/{name}.yaml"
    )
    targets = blueprint.inputs["presence_targets"]["selector"]["entity"]
    assert targets["multiple"] is True
    assert targets["filter"] == [{"integration": DOMAIN, "domain": ["select"]}]
    assert data["mode"] == "single"


async def test_blueprints_folder_holds_the_three() -> None:
    """The folder holds exactly the blueprints the tests load."""
    assert sorted(path.stem for path in BLUEPRINTS.iterdir()) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
async def test_imported_from_github(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker, name: str
) -> None:
    """Importing the blueprint by its GitHub URL (source_url) fetches the raw file and accepts it."""
    text = (BLUEPRINTS / f"{name}.yaml").read_text(encoding="utf-8")
    source_url = yaml_util.parse_yaml(text)["blueprint"]["source_url"]
    raw_url = source_url.replace("https://github.com/", "https://raw.githubusercontent.com/")
    raw_url = raw_url.replace("/blob/", "/", 1)
    aioclient_mock.get(raw_url, text=text)

    imported = await fetch_blueprint_from_url(hass, source_url)
    assert imported.raw_data == text
    assert imported.blueprint.domain == "automation"
    assert imported.blueprint.metadata["source_url"] == source_url


def test_readme_links_each_blueprint() -> None:
    """The README's Blueprints section has a my.home-assistant.io import link for each file."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Blueprints\n", 1)[1].split("\n## ", 1)[0]
    raw = _repository().replace("https://github.com/", "https://raw.githubusercontent.com/")
    links = re.findall(
        r"https://my\.home-assistant\.io/redirect/blueprint_import/\?blueprint_url=(\S+?)\)",
        section,
    )
    assert links == [f"{raw}/main/blueprints/automation/{DOMAIN}/{name}.yaml" for name in NAMES]
    assert f"config/blueprints/automation/{DOMAIN}/" in section


# --- Do not disturb while on -----------------------------------------------------------------


@pytest.mark.usefixtures("init_integration")
async def test_do_not_disturb_while_the_focus_switch_is_on(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """The switch turns on: Do not disturb; it turns off: Available, as before."""
    hass.states.async_set(FOCUS, "off")
    await use_blueprint(
        hass,
        "do_not_disturb_while_on",
        {"trigger_entity": FOCUS, "presence_targets": [ALICE]},
    )
    assert hass.states.get(ALICE).state == "available"

    await flip(hass, FOCUS, "on")
    assert puts(fake_zoom) == [DND]
    assert hass.states.get(ALICE).state == "do_not_disturb"

    await advance(hass, freezer, 61)
    assert hass.states.get(ALICE).state == "do_not_disturb"
    await flip(hass, FOCUS, "off")
    assert puts(fake_zoom) == [DND, {"status": "Available"}]
    assert hass.states.get(ALICE).state == "available"
    await advance(hass, freezer, 61)
    assert puts(fake_zoom) == [DND, {"status": "Available"}]


@pytest.mark.usefixtures("init_integration")
async def test_do_not_disturb_while_the_door_is_closed(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """With "off", the door closing sets Do not disturb and opening it restores Away."""
    await select_option(hass, "away")
    await advance(hass, freezer, 61)
    hass.states.async_set(DOOR, "on", {"device_class": "door"})
    await use_blueprint(
        hass,
        "do_not_disturb_while_on",
        {"trigger_entity": DOOR, "active_state": "off", "presence_targets": [ALICE]},
    )

    await flip(hass, DOOR, "off")
    assert puts(fake_zoom) == [{"status": "Away"}, DND]
    assert hass.states.get(ALICE).state == "do_not_disturb"

    await advance(hass, freezer, 61)
    await flip(hass, DOOR, "on")
    assert puts(fake_zoom) == [{"status": "Away"}, DND, {"status": "Away"}]
    assert hass.states.get(ALICE).state == "away"


@pytest.mark.usefixtures("init_integration")
async def test_restore_within_zooms_minute_is_queued(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """The switch is on for 10 seconds only: Available goes out once Zoom's minute has passed."""
    hass.states.async_set(FOCUS, "off")
    await use_blueprint(
        hass,
        "do_not_disturb_while_on",
        {"trigger_entity": FOCUS, "presence_targets": [ALICE]},
    )
    await flip(hass, FOCUS, "on")
    await advance(hass, freezer, 10)
    await flip(hass, FOCUS, "off")
    assert puts(fake_zoom) == [DND]
    state = hass.states.get(ALICE)
    assert state.state == "available"
    assert state.attributes["pending"] is True

    await advance(hass, freezer, 51)
    assert puts(fake_zoom) == [DND, {"status": "Available"}]
    assert hass.states.get(ALICE).attributes["pending"] is False


@pytest.mark.usefixtures("init_integration")
async def test_a_newer_presence_is_kept(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """A presence chosen while Do not disturb is on is not overwritten when the switch goes off."""
    hass.states.async_set(FOCUS, "off")
    await use_blueprint(
        hass,
        "do_not_disturb_while_on",
        {"trigger_entity": FOCUS, "presence_targets": [ALICE]},
    )
    await flip(hass, FOCUS, "on")
    await advance(hass, freezer, 61)
    await select_option(hass, "on_a_call")
    await advance(hass, freezer, 61)

    await flip(hass, FOCUS, "off")
    await advance(hass, freezer, 61)
    assert puts(fake_zoom) == [DND, {"status": "On_A_Call"}]
    assert hass.states.get(ALICE).state == "on_a_call"


@pytest.mark.usefixtures("init_integration")
async def test_turning_on_again_keeps_the_first_presence(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """The switch coming back on through unavailable does not save Do not disturb as "before"."""
    hass.states.async_set(FOCUS, "off")
    await use_blueprint(
        hass,
        "do_not_disturb_while_on",
        {"trigger_entity": FOCUS, "presence_targets": [ALICE]},
    )
    await flip(hass, FOCUS, "on")
    await advance(hass, freezer, 61)
    await flip(hass, FOCUS, "unavailable")
    await flip(hass, FOCUS, "on")
    assert puts(fake_zoom) == [DND]

    await flip(hass, FOCUS, "off")
    assert puts(fake_zoom) == [DND, {"status": "Available"}]
    assert hass.states.get(ALICE).state == "available"


# --- Away when nobody is home ----------------------------------------------------------------


@pytest.mark.usefixtures("init_integration")
async def test_away_when_nobody_is_home(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """The home zone empties: Away; someone comes home: On a call, as before."""
    await select_option(hass, "on_a_call")
    await advance(hass, freezer, 61)
    hass.states.async_set(HOME, "1")
    await use_blueprint(hass, "away_when_nobody_home", {"presence_targets": [ALICE]})

    await flip(hass, HOME, "0")
    assert puts(fake_zoom) == [{"status": "On_A_Call"}, {"status": "Away"}]
    assert hass.states.get(ALICE).state == "away"

    await advance(hass, freezer, 61)
    await flip(hass, HOME, "2")
    assert puts(fake_zoom) == [{"status": "On_A_Call"}, {"status": "Away"}, {"status": "On_A_Call"}]
    assert hass.states.get(ALICE).state == "on_a_call"


@pytest.mark.usefixtures("init_integration")
async def test_away_when_the_chosen_zone_empties(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """Another zone can be chosen; the home zone is left alone."""
    hass.states.async_set(HOME, "1")
    hass.states.async_set("zone.flat", "1")
    await use_blueprint(
        hass,
        "away_when_nobody_home",
        {"home_zone": "zone.flat", "presence_targets": [ALICE]},
    )
    await flip(hass, HOME, "0")
    assert puts(fake_zoom) == []

    await flip(hass, "zone.flat", "0")
    assert puts(fake_zoom) == [{"status": "Away"}]
    await advance(hass, freezer, 61)
    await flip(hass, "zone.flat", "1")
    assert puts(fake_zoom) == [{"status": "Away"}, {"status": "Available"}]
    assert hass.states.get(ALICE).state == "available"


# --- In a meeting during a calendar event ----------------------------------------------------


@pytest.mark.usefixtures("init_integration")
async def test_in_a_meeting_during_a_calendar_event(
    hass: HomeAssistant, fake_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """An event starts: the shared in_a_meeting, Zoom's In a calendar event; it ends: Available."""
    hass.states.async_set(CALENDAR, "off")
    await use_blueprint(
        hass,
        "in_a_meeting_during_calendar_event",
        {"calendar_entity": CALENDAR, "presence_targets": [ALICE]},
    )

    await flip(hass, CALENDAR, "on")
    assert puts(fake_zoom) == [{"status": "In_Calendar_Event"}]
    assert hass.states.get(ALICE).state == "in_calendar_event"

    await advance(hass, freezer, 61)
    await flip(hass, CALENDAR, "off")
    assert puts(fake_zoom) == [{"status": "In_Calendar_Event"}, {"status": "Available"}]
    assert hass.states.get(ALICE).state == "available"
