"""The shared vocabulary: for every provider and every shared value, the option that sets it,
and what each value the provider reports means, read through the fakes."""

from collections.abc import AsyncGenerator
from typing import Any

import aiohttp
import pytest

from custom_components.presence_bridge.api import (
    Availability,
    GraphClient,
    Presence,
    StatusMessage,
    VonageClient,
    ZoomClient,
    ZulipClient,
)

from .conftest import Clock
from .fake_msgraph import FakeGraph, State
from .fake_server import FakeServer
from .fake_vonage import BREAK_ID, EXTENDED_AWAY_ID, LOGGED_OUT_ID, LUNCH_ID, READY_ID, FakeVonage
from .fake_zoom import FakeZoom, ZoomUser

A = Availability
ZOOM_USER = "KdYKjnimT4KPd8FFgQt9FQ"


def client_data(fake: FakeServer) -> dict[str, Any]:
    """The fake's entry data as a client's keyword arguments."""
    return {key: value for key, value in fake.entry_data().items() if key != "provider"}


def test_the_vocabulary() -> None:
    """Exactly the ten shared values, in this order (the sensor's options)."""
    assert [str(value) for value in Availability] == [
        "available",
        "busy",
        "do_not_disturb",
        "be_right_back",
        "away",
        "in_a_meeting",
        "presenting",
        "on_a_call",
        "offline",
        "unknown",
    ]


# --- Zoom -----------------------------------------------------------------------------------


@pytest.fixture
async def zoom(
    socket_enabled: None, session: aiohttp.ClientSession, clock: Clock
) -> AsyncGenerator[tuple[FakeZoom, ZoomClient]]:
    """A fake Zoom with Alice, and a client of it."""
    fake = FakeZoom(clock=clock)
    fake.add_user(ZoomUser(ZOOM_USER, "alice@example.com", "Alice", "Archer"))
    async with fake:
        yield fake, ZoomClient(session, clock=clock, **client_data(fake))


ZOOM_OPTIONS = {
    A.AVAILABLE: "available",
    A.BUSY: None,
    A.DO_NOT_DISTURB: "do_not_disturb",
    A.BE_RIGHT_BACK: "away",
    A.AWAY: "away",
    A.IN_A_MEETING: "in_calendar_event",
    A.PRESENTING: "presenting",
    A.ON_A_CALL: "on_a_call",
    A.OFFLINE: None,
    A.UNKNOWN: None,
}


async def test_zoom_option_for_every_value(zoom: tuple[FakeZoom, ZoomClient]) -> None:
    """Zoom has no settable Busy and cannot appear offline; a meeting is a calendar event."""
    _, client = zoom
    assert {shared: client.option_for(shared) for shared in A} == ZOOM_OPTIONS


@pytest.mark.parametrize(
    ("status", "shared"),
    [
        ("Available", A.AVAILABLE),
        ("Away", A.AWAY),
        ("Do_Not_Disturb", A.DO_NOT_DISTURB),
        ("In_Calendar_Event", A.IN_A_MEETING),
        ("Presenting", A.PRESENTING),
        ("In_A_Zoom_Meeting", A.IN_A_MEETING),
        ("On_A_Call", A.ON_A_CALL),
        ("Busy", A.BUSY),
        ("Out_of_Office", A.AWAY),
        ("Offline", A.OFFLINE),
        ("Mobile_Signed_In", A.UNKNOWN),
        ("", A.UNKNOWN),
    ],
)
async def test_zoom_reported_status(
    zoom: tuple[FakeZoom, ZoomClient], status: str, shared: Availability
) -> None:
    """Each status Zoom reports, settable or not, means one shared value; others are unknown."""
    fake, client = zoom
    fake.users[ZOOM_USER].status = status
    presence = (await client.get_presences([ZOOM_USER]))[ZOOM_USER]
    assert presence.raw == status
    assert client.shared_of(presence) is shared


async def test_zoom_round_trip(zoom: tuple[FakeZoom, ZoomClient]) -> None:
    """What a shared value sets means that value, accepted and read back (Be right back is
    Away in Zoom)."""
    fake, client = zoom
    accepted, read = {}, {}
    for shared, option in ZOOM_OPTIONS.items():
        if option is not None:
            presence = client.accepted_presence(option)
            fake.users[ZOOM_USER].status = presence.raw
            accepted[shared] = client.shared_of(presence)
            read[shared] = client.shared_of((await client.get_presences([ZOOM_USER]))[ZOOM_USER])
    expected = {shared: A.AWAY if shared is A.BE_RIGHT_BACK else shared for shared in accepted}
    assert (accepted, read) == (expected, expected)


# --- Microsoft Teams --------------------------------------------------------------------------


@pytest.fixture
async def graph(
    socket_enabled: None, session: aiohttp.ClientSession, clock: Clock
) -> AsyncGenerator[tuple[FakeGraph, GraphClient, str]]:
    """A fake tenant with Grace, and an app-only client of it."""
    fake = FakeGraph(clock=clock)
    user_id = fake.add_user("Grace Hopper", "grace@contoso.com")
    async with fake:
        yield fake, GraphClient(session, clock=clock, **client_data(fake)), user_id


GRAPH_OPTIONS = {
    A.AVAILABLE: "available",
    A.BUSY: "busy",
    A.DO_NOT_DISTURB: "do_not_disturb",
    A.BE_RIGHT_BACK: "be_right_back",
    A.AWAY: "away",
    A.IN_A_MEETING: "busy",
    A.PRESENTING: "do_not_disturb",
    A.ON_A_CALL: "busy",
    A.OFFLINE: "appear_offline",
    A.UNKNOWN: None,
}


async def test_graph_option_for_every_value(graph: tuple[FakeGraph, GraphClient, str]) -> None:
    """A meeting, a presentation or a call cannot be preferred: Teams' own availability for it."""
    _, client, _ = graph
    assert {shared: client.option_for(shared) for shared in A} == GRAPH_OPTIONS


@pytest.mark.parametrize(
    ("availability", "activity", "shared"),
    [
        ("Available", "Available", A.AVAILABLE),
        ("AvailableIdle", "Inactive", A.AWAY),
        ("Away", "Away", A.AWAY),
        ("BeRightBack", "BeRightBack", A.BE_RIGHT_BACK),
        ("Busy", "Busy", A.BUSY),
        ("BusyIdle", "Inactive", A.BUSY),
        ("Busy", "InAMeeting", A.IN_A_MEETING),
        ("Busy", "InACall", A.ON_A_CALL),
        ("Busy", "InAConferenceCall", A.ON_A_CALL),
        ("DoNotDisturb", "DoNotDisturb", A.DO_NOT_DISTURB),
        ("DoNotDisturb", "Presenting", A.PRESENTING),
        ("DoNotDisturb", "UrgentInterruptionsOnly", A.DO_NOT_DISTURB),
        ("Available", "OutOfOffice", A.AWAY),
        ("Offline", "OffWork", A.OFFLINE),
        ("Offline", "Offline", A.OFFLINE),
        ("PresenceUnknown", "PresenceUnknown", A.UNKNOWN),
        ("Elsewhere", "Wandering", A.UNKNOWN),
    ],
)
async def test_graph_reported_presence(
    graph: tuple[FakeGraph, GraphClient, str],
    availability: str,
    activity: str,
    shared: Availability,
) -> None:
    """The activity decides where it says more than the availability; unknown values are unknown."""
    fake, client, user_id = graph
    fake.add_session(user_id)
    fake.users[user_id].preferred = State(availability, activity)
    presence = (await client.get_presences([user_id]))[user_id]
    assert (presence.availability, presence.activity) == (availability, activity)
    assert client.shared_of(presence) is shared


async def test_graph_accepted_options(graph: tuple[FakeGraph, GraphClient, str]) -> None:
    """Right after Graph accepted an option, it means what a read of it would; `automatic`
    hands the presence back to Teams, unknown until read."""
    _, client, _ = graph
    assert {
        option: client.shared_of(client.accepted_presence(option))
        for option in client.presence_options
    } == {
        "available": A.AVAILABLE,
        "busy": A.BUSY,
        "do_not_disturb": A.DO_NOT_DISTURB,
        "be_right_back": A.BE_RIGHT_BACK,
        "away": A.AWAY,
        "appear_offline": A.OFFLINE,
        "automatic": A.UNKNOWN,
    }


# --- Vonage Contact Center ------------------------------------------------------------------


@pytest.fixture
async def vonage(
    socket_enabled: None, session: aiohttp.ClientSession, clock: Clock
) -> AsyncGenerator[tuple[FakeVonage, VonageClient, str]]:
    """A fake VCC (Ready, Break, Lunch, Logged Out, and Extended away not selectable) with Ada."""
    fake = FakeVonage(clock=clock)
    guid = fake.add_agent("Ada Lovelace", READY_ID)
    async with fake:
        yield fake, VonageClient(session, clock=clock, **client_data(fake)), guid


async def test_vonage_option_for_with_the_default_definitions(
    vonage: tuple[FakeVonage, VonageClient, str],
) -> None:
    """By category among the account's selectable definitions, first in VCC's order: Be right
    back falls back to an away one; what no definition means cannot be set."""
    _, client, _ = vonage
    assert {shared: client.option_for(shared) for shared in A} == dict.fromkeys(A)
    await client.get_presence_definitions()
    assert {shared: client.option_for(shared) for shared in A} == {
        A.AVAILABLE: "Ready",
        A.BUSY: None,
        A.DO_NOT_DISTURB: None,
        A.BE_RIGHT_BACK: "Break",
        A.AWAY: "Break",
        A.IN_A_MEETING: None,
        A.PRESENTING: None,
        A.ON_A_CALL: None,
        A.OFFLINE: "Logged Out",
        A.UNKNOWN: None,
    }


async def test_vonage_option_for_by_name(vonage: tuple[FakeVonage, VonageClient, str]) -> None:
    """Away definitions named for something more specific set it; a name in a Ready or Logged
    out category does not change what the category means; a withdrawn definition is no option."""
    fake, client, _ = vonage
    for name in ("Team meeting", "Presentation", "On a call", "BRB", "DND", "Busy"):
        fake.add_definition(name, "Away")
    fake.add_definition("Meeting room ready", "Ready")
    withdrawn = fake.add_definition("Coaching meeting", "ExtendedAway")
    fake.set_definition_selectable(withdrawn, False)
    await client.get_presence_definitions()
    assert {shared: client.option_for(shared) for shared in A} == {
        A.AVAILABLE: "Ready",
        A.BUSY: "Busy",
        A.DO_NOT_DISTURB: "DND",
        A.BE_RIGHT_BACK: "BRB",
        A.AWAY: "Break",
        A.IN_A_MEETING: "Team meeting",
        A.PRESENTING: "Presentation",
        A.ON_A_CALL: "On a call",
        A.OFFLINE: "Logged Out",
        A.UNKNOWN: None,
    }


async def test_vonage_presenting_falls_back_to_a_meeting(
    vonage: tuple[FakeVonage, VonageClient, str],
) -> None:
    """Without a presenting definition, a meeting one is the nearest."""
    fake, client, _ = vonage
    fake.add_definition("Meeting", "Away")
    await client.get_presence_definitions()
    assert client.option_for(A.PRESENTING) == "Meeting"


@pytest.mark.parametrize(
    ("definition", "shared"),
    [
        (("Ready",), A.AVAILABLE),
        (("Break",), A.AWAY),
        (("Lunch",), A.AWAY),
        (("Extended away",), A.AWAY),
        (("Logged Out",), A.OFFLINE),
        (("Weekly Meeting", "Away"), A.IN_A_MEETING),
        (("Meeting", "ExtendedAway"), A.IN_A_MEETING),
        (("Presenting", "Away"), A.PRESENTING),
        (("Outbound calls", "Away"), A.ON_A_CALL),
        (("Be right back", "Away"), A.BE_RIGHT_BACK),
        (("Do not disturb", "Away"), A.DO_NOT_DISTURB),
        (("Busy", "Away"), A.BUSY),
        (("Training", "Away"), A.AWAY),
        (("Meeting", "Ready"), A.AVAILABLE),
        (("Busy", "LoggedOut"), A.OFFLINE),
    ],
)
async def test_vonage_reported_presence(
    vonage: tuple[FakeVonage, VonageClient, str], definition: tuple[str, ...], shared: Availability
) -> None:
    """By category, and within the away categories by name; selectable or not."""
    fake, client, guid = vonage
    known = {
        "Ready": READY_ID,
        "Break": BREAK_ID,
        "Lunch": LUNCH_ID,
        "Extended away": EXTENDED_AWAY_ID,
        "Logged Out": LOGGED_OUT_ID,
    }
    name, *category = definition
    presence_id = known[name] if not category else fake.add_definition(name, category[0])
    fake.agents[guid]["presenceId"] = presence_id
    presence = (await client.get_presences([guid]))[guid]
    assert presence.raw == name
    assert client.shared_of(presence) is shared


async def test_vonage_unknown_category(vonage: tuple[FakeVonage, VonageClient, str]) -> None:
    """A category VCC may add later means nothing yet, whatever its name."""
    fake, client, guid = vonage
    presence_id = fake.add_definition("Meeting", "Away")
    fake.definitions[-1]["category"]["categoryType"] = "Wrapping"
    fake.agents[guid]["presenceId"] = presence_id
    presence = (await client.get_presences([guid]))[guid]
    assert (presence.category, client.shared_of(presence)) == ("Wrapping", A.UNKNOWN)


async def test_vonage_accepted_presence(vonage: tuple[FakeVonage, VonageClient, str]) -> None:
    """Right after VCC accepted an option (no category reported), its definition decides."""
    fake, client, _ = vonage
    fake.add_definition("Team meeting", "Away")
    await client.get_presence_definitions()
    assert {
        option: client.shared_of(client.accepted_presence(option))
        for option in client.presence_options
    } == {
        "Ready": A.AVAILABLE,
        "Break": A.AWAY,
        "Lunch": A.AWAY,
        "Logged Out": A.OFFLINE,
        "Team meeting": A.IN_A_MEETING,
    }
    assert client.shared_of(Presence(None, "Gone")) is A.UNKNOWN


# --- Zulip ----------------------------------------------------------------------------------


@pytest.fixture
def zulip(session: aiohttp.ClientSession) -> ZulipClient:
    """A Zulip client; the mapping needs no request."""
    return ZulipClient(
        session, url="https://chat.example.com", email="ada@example.com", api_key="k" * 32
    )


def test_zulip_preset_for_every_value(zulip: ZulipClient) -> None:
    """Available clears the status; meetings and presentations are In a meeting; Zulip says
    nothing else without inventing a reason."""
    assert {shared: zulip.preset_for(shared) for shared in A} == {
        A.AVAILABLE: "none",
        A.BUSY: None,
        A.DO_NOT_DISTURB: None,
        A.BE_RIGHT_BACK: None,
        A.AWAY: None,
        A.IN_A_MEETING: "in_a_meeting",
        A.PRESENTING: "in_a_meeting",
        A.ON_A_CALL: None,
        A.OFFLINE: None,
        A.UNKNOWN: None,
    }


def test_zulip_reported_status(zulip: ZulipClient) -> None:
    """Each preset means a shared value, except no status; any other status is unknown."""
    presets = ZulipClient.status_presets
    assert {name: zulip.shared_of_status(status) for name, status in presets.items()} == {
        "none": A.UNKNOWN,
        "in_a_meeting": A.IN_A_MEETING,
        "commuting": A.AWAY,
        "out_sick": A.AWAY,
        "vacationing": A.AWAY,
        "working_remotely": A.AVAILABLE,
    }
    others = [
        StatusMessage("", "", "", ""),
        StatusMessage("In a meeting", "", "", ""),
        StatusMessage("In a meeting", "coffee", "2615", "unicode_emoji"),
        StatusMessage("Lunch", "calendar", "1f4c5", "unicode_emoji"),
        StatusMessage(),
    ]
    assert [zulip.shared_of_status(status) for status in others] == [A.UNKNOWN] * 5


def test_graph_status_says_nothing(session: aiohttp.ClientSession) -> None:
    """Teams has no presets: its status message never maps (its presence does)."""
    client = GraphClient(session, tenant_id="contoso", client_id="app", client_secret="secret")
    assert client.shared_of_status(StatusMessage("In a meeting")) is A.UNKNOWN
    assert {client.preset_for(shared) for shared in A} == {None}
