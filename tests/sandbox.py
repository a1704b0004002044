"""The provider sandbox: the fakes of all four providers in one process, seeded, on fixed ports.

`scripts/sandbox` runs this module. It starts the fake Zoom, Vonage Contact Center, Zulip and
Microsoft Graph of `tests/` (the same classes the unit tests use) on loopback ports, seeds them
with a few people, agents, presence definitions, a Zulip organization with custom emoji and a
Graph tenant, and prints, for each provider, what to type into Presence Bridge's config flow.

Each fake also serves the JSON control API of `tests/fake_server.py` on its own port:

    GET  /_sandbox/requests[?since=N]   what reached the fake (credentials masked)
    POST /_sandbox/fail                 {"status": 503, "path": "/v2/users/…", "count": 1, …}
    GET  /_sandbox/state                the fake's settings and its people
    POST /_sandbox/state                {"client_secret": "new", "revoke_tokens": true}, or
                                        {"users": {id: {…}}} / {"agents": {guid: {…}}}

The delegated Teams sign-in shows a one-button consent page and signs in the first Graph user.
The fakes answer with their real rate limits (Zoom: one presence update per person per minute).

    python -m tests.sandbox [--port-base 8701] [--zoom-port N] … [--info FILE] [--quiet]
"""

import argparse
import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import signal
import sys
from typing import Any, override

from .fake_msgraph import FakeGraph
from .fake_server import FakeServer
from .fake_vonage import BREAK_ID, LOGGED_OUT_ID, READY_ID, FakeVonage
from .fake_zoom import FakeZoom, ZoomUser
from .fake_zulip import ADMINISTRATOR, FakeZulip

PORT_BASE = 8701
"""Zoom listens here, Vonage on the next port, then Zulip, then Microsoft Graph."""
PROVIDERS = ("zoom", "vonage", "zulip", "msgraph")

ZOOM_ACCOUNT_ID = "sandbox-account"
ZOOM_CLIENT_ID = "sandbox-zoom-client"
ZOOM_CLIENT_SECRET = "sandbox-zoom-secret"
VONAGE_CLIENT_ID = "sandbox-vcc-client"
VONAGE_CLIENT_SECRET = "sandbox-vcc-secret"
ZULIP_EMAIL = "ada@example.com"
ZULIP_API_KEY = "SandboxAdaApiKey0123456789abcdef"
GRAPH_CLIENT_SECRET = "sandbox-graph-secret"

ZOOM_PEOPLE = (
    ("ZsAliceArcher0000000001", "alice@example.com", "Alice", "Archer", "Available"),
    ("ZsBobBaker000000000002", "bob@example.com", "Bob", "Baker", "Away"),
    ("ZsCarolChen00000000003", "carol@example.com", "Carol", "Chen", "Available"),
)
VONAGE_AGENTS = (
    ("Ada Lovelace", READY_ID),
    ("Alan Turing", BREAK_ID),
    ("Grace Hopper", LOGGED_OUT_ID),
)
ZULIP_PEOPLE = (
    ("Ada Lovelace", ZULIP_EMAIL, ADMINISTRATOR),
    ("Grace Hopper", "grace@example.com", None),
    ("Katherine Johnson", "katherine@example.com", None),
)
ZULIP_CUSTOM_EMOJI = ("sandbox", "home_office")
GRAPH_PEOPLE = (
    ("Megan Bowen", "megan@contoso.onmicrosoft.com"),
    ("Adele Vance", "adele@contoso.onmicrosoft.com"),
    ("Lee Gu", "lee@contoso.onmicrosoft.com"),
)


class SandboxZoom(FakeZoom):
    """The fake Zoom, with its users in the control API's state."""

    @override
    def sandbox_state(self) -> dict[str, Any]:
        return super().sandbox_state() | {
            "users": {
                user.user_id: {
                    "email": user.email,
                    "name": f"{user.first_name} {user.last_name}",
                    "status": user.status,
                    "signed_in": user.signed_in,
                    "may_update": user.may_update,
                }
                for user in self.users.values()
            }
        }

    @override
    def update_sandbox_state(self, changes: Mapping[str, Any]) -> None:
        changes = dict(changes)
        for user_id, values in changes.pop("users", {}).items():
            user = self.users.get(user_id)
            if user is None:
                raise ValueError(f"no user {user_id!r}")
            _set_fields(user, values, ("status", "signed_in", "may_update"))
        super().update_sandbox_state(changes)


class SandboxVonage(FakeVonage):
    """The fake VCC, with its agents and presence definitions in the control API's state."""

    @override
    def sandbox_state(self) -> dict[str, Any]:
        names = {item["presenceId"]: item["description"] for item in self.definitions}
        return super().sandbox_state() | {
            "agents": {
                guid: {"name": agent["name"], "presence": names.get(agent["presenceId"])}
                for guid, agent in self.agents.items()
            },
            "presence_definitions": names,
        }

    @override
    def update_sandbox_state(self, changes: Mapping[str, Any]) -> None:
        changes = dict(changes)
        ids = {item["description"]: item["presenceId"] for item in self.definitions}
        for guid, values in changes.pop("agents", {}).items():
            agent = self.agents.get(guid)
            presence = values.get("presence")
            if agent is None or set(values) != {"presence"} or presence not in ids:
                raise ValueError(f"cannot set agent {guid!r} to {values!r}")
            agent["presenceId"] = ids[presence]
        super().update_sandbox_state(changes)


class SandboxZulip(FakeZulip):
    """The fake Zulip organization, with its members in the control API's state."""

    @override
    def sandbox_state(self) -> dict[str, Any]:
        return super().sandbox_state() | {
            "users": {
                str(user.user_id): {
                    "full_name": user.full_name,
                    "email": user.email,
                    "role": user.role,
                    "deactivated": user.deactivated,
                    "status": user.reported_status(),
                }
                for user in self.users.values()
            },
            "custom_emoji": sorted(
                emoji["name"] for emoji in self.realm_emoji.values() if not emoji["deactivated"]
            ),
        }

    @override
    def update_sandbox_state(self, changes: Mapping[str, Any]) -> None:
        changes = dict(changes)
        for user_id, values in changes.pop("users", {}).items():
            user = self.users.get(int(user_id))
            if user is None:
                raise ValueError(f"no user {user_id!r}")
            fields = dict(values)
            if "status_text" in fields:
                user.status["status_text"] = str(fields.pop("status_text"))
            _set_fields(user, fields, ("api_key", "role", "deactivated", "full_name"))
        super().update_sandbox_state(changes)


class SandboxGraph(FakeGraph):
    """The fake Graph tenant, with its users' presence in the control API's state."""

    @override
    def sandbox_state(self) -> dict[str, Any]:
        users = {}
        for user in self.users.values():
            availability, activity = self.presence_of(user.user_id)
            users[user.user_id] = {
                "name": user.display_name,
                "upn": user.upn,
                "availability": availability,
                "activity": activity,
                "preferred": [user.preferred.availability, user.preferred.activity]
                if user.preferred
                else None,
                "status_message": user.status.content if user.status else None,
            }
        return super().sandbox_state() | {"users": users}

    @override
    def update_sandbox_state(self, changes: Mapping[str, Any]) -> None:
        changes = dict(changes)
        for user_id, values in changes.pop("users", {}).items():
            if user_id.lower() not in self.users or set(values) - {"availability", "activity"}:
                raise ValueError(f"cannot set user {user_id!r} to {values!r}")
            self.add_session(
                user_id.lower(),
                values.get("availability", "Available"),
                values.get("activity", values.get("availability", "Available")),
            )
        super().update_sandbox_state(changes)


def _set_fields(target: object, values: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    """Set these attributes of `target`, refusing any other."""
    for key, value in values.items():
        if key not in allowed:
            raise ValueError(f"cannot set {key!r}")
        setattr(target, key, value)


@dataclass
class Sandbox:
    """The four seeded fakes; `start()` serves them, `close()` stops them."""

    zoom: SandboxZoom = field(default_factory=SandboxZoom)
    vonage: SandboxVonage = field(default_factory=SandboxVonage)
    zulip: SandboxZulip = field(default_factory=SandboxZulip)
    msgraph: SandboxGraph = field(default_factory=SandboxGraph)

    def __post_init__(self) -> None:
        """Seed the fakes."""
        zoom = self.zoom
        zoom.account_id, zoom.client_id = ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID
        zoom.client_secret = ZOOM_CLIENT_SECRET
        for user_id, email, first, last, status in ZOOM_PEOPLE:
            zoom.add_user(ZoomUser(user_id, email, first, last, status=status))

        vonage = self.vonage
        vonage.client_id, vonage.client_secret = VONAGE_CLIENT_ID, VONAGE_CLIENT_SECRET
        vonage.add_definition("Training", "Away")
        for name, presence_id in VONAGE_AGENTS:
            vonage.add_agent(name, presence_id)

        zulip = self.zulip
        for name, email, role in ZULIP_PEOPLE:
            user_id = zulip.add_user(name, email, **({"role": role} if role else {}))
            if email == ZULIP_EMAIL:
                zulip.users[user_id].api_key = ZULIP_API_KEY
        for number, name in enumerate(ZULIP_CUSTOM_EMOJI, start=len(zulip.realm_emoji) + 1):
            zulip.realm_emoji[str(number)] = {
                "id": str(number),
                "name": name,
                "source_url": f"/user_avatars/2/emoji/images/{number}.png",
                "still_url": None,
                "deactivated": False,
                "author_id": min(zulip.users),
            }

        graph = self.msgraph
        graph.client_secret = GRAPH_CLIENT_SECRET
        graph.consent_page = True
        ids = [graph.add_user(name, upn, mail=upn) for name, upn in GRAPH_PEOPLE]
        graph.signed_in = ids[0]
        graph.add_session(ids[1], "Busy", "InACall")

    @property
    def fakes(self) -> dict[str, FakeServer]:
        """The fakes by provider."""
        return {name: getattr(self, name) for name in PROVIDERS}

    async def start(self, ports: Mapping[str, int]) -> None:
        """Serve each fake, with its control API, on its port (0: any free one)."""
        for name, fake in self.fakes.items():
            await fake.start(ports[name] or None, control=True)

    async def close(self) -> None:
        """Stop serving."""
        for fake in self.fakes.values():
            await fake.close()

    def info(self) -> dict[str, dict[str, Any]]:
        """Per provider: its URL, control API and what the config flow asks for."""
        zoom, vonage, zulip, graph = self.zoom, self.vonage, self.zulip, self.msgraph
        zuliprc = f"[api]\nemail={ZULIP_EMAIL}\nkey={ZULIP_API_KEY}\nsite={zulip.url}\n"
        return {
            "zoom": {
                "url": zoom.url,
                "menu": "Zoom",
                "form": {
                    "account_id": zoom.account_id,
                    "client_id": zoom.client_id,
                    "client_secret": zoom.client_secret,
                    "user_id": ZOOM_PEOPLE[0][1],
                },
                "server_addresses": {"api_url": zoom.api_url, "oauth_url": zoom.url},
                "people": [person[1] for person in ZOOM_PEOPLE],
            },
            "vonage": {
                "url": vonage.url,
                "menu": "Vonage Contact Center",
                "form": {
                    "region": "emea",
                    "client_id": vonage.client_id,
                    "client_secret": vonage.client_secret,
                },
                "server_addresses": {"auth_url": vonage.url, "api_url": vonage.url},
                "people": {agent["name"]: guid for guid, agent in vonage.agents.items()},
            },
            "zulip": {
                "url": zulip.url,
                "menu": "Zulip",
                "form": {"url": zulip.url, "email": ZULIP_EMAIL, "api_key": ZULIP_API_KEY},
                "zuliprc": zuliprc,
                "people": [person[1] for person in ZULIP_PEOPLE],
                "custom_emoji": list(ZULIP_CUSTOM_EMOJI),
            },
            "msgraph": {
                "url": graph.url,
                "menu": "Microsoft Teams",
                "form": {
                    "tenant_id": graph.tenant_id,
                    "client_id": graph.client_id,
                    "client_secret": graph.client_secret,
                    "user_id": GRAPH_PEOPLE[1][1],
                },
                "server_addresses": {"api_url": graph.api_url, "login_url": graph.url},
                "people": [person[1] for person in GRAPH_PEOPLE],
                "sign_in": {
                    "application_credentials": {
                        "client_id": graph.client_id,
                        "client_secret": graph.client_secret,
                    },
                    "tenant": graph.tenant_id,
                    "server_addresses": {"login_url": graph.url, "api_url": graph.api_url},
                    "signs_in": GRAPH_PEOPLE[0][1],
                },
            },
        }


LABELS = {
    "account_id": "Account ID",
    "client_id": "Client ID",
    "client_secret": "Client secret",
    "user_id": "Person to control",
    "region": "Region",
    "api_url": "API URL",
    "oauth_url": "OAuth URL",
    "auth_url": "Authentication URL",
    "login_url": "Sign-in URL",
    "tenant_id": "Tenant ID",
    "tenant": "Tenant",
}
"""The config flow's labels of the fields (translations/en.json)."""


def instructions(info: Mapping[str, Mapping[str, Any]]) -> str:
    """What to type into the config flow, provider by provider, as the sandbox prints it."""

    def rows(values: Mapping[str, Any], indent: str = "    ") -> list[str]:
        labels = {LABELS.get(key, key): value for key, value in values.items()}
        width = max(len(label) for label in labels)
        return [f"{indent}{label:<{width}}  {value}" for label, value in labels.items()]

    zoom, vonage, zulip, graph = (info[name] for name in PROVIDERS)
    lines = [
        "Presence Bridge sandbox: fake Zoom, Vonage Contact Center, Zulip and Microsoft Teams.",
        "In Home Assistant: Settings > Devices & services > Add integration > Presence Bridge.",
        "Open the collapsed 'Server addresses' section for the URLs.",
        "",
        f"Zoom ({zoom['url']})",
        *rows(zoom["form"]),
        "  Server addresses:",
        *rows(zoom["server_addresses"]),
        f"  People: {', '.join(zoom['people'])}",
        "",
        f"Vonage Contact Center ({vonage['url']})",
        *rows(vonage["form"]),
        "  Server addresses:",
        *rows(vonage["server_addresses"]),
        f"  Agents (Add person lists them): {', '.join(vonage['people'])}",
        "",
        f"Zulip ({zulip['url']}): paste this into 'zuliprc contents', or type the fields",
        *(f"    {line}" for line in zulip["zuliprc"].splitlines()),
        f"  People: {', '.join(zulip['people'])} (Ada is an administrator)",
        f"  Custom emoji: {', '.join(zulip['custom_emoji'])}",
        "",
        f"Microsoft Teams ({graph['url']})",
        *rows(graph["form"]),
        "  Server addresses:",
        *rows(graph["server_addresses"]),
        f"  People: {', '.join(graph['people'])}",
        "",
        "Microsoft Teams (sign in as yourself): first add application credentials",
        "(Settings > Devices & services, menu, Application credentials, Presence Bridge):",
        *rows(graph["sign_in"]["application_credentials"]),
        "  then:",
        *rows({"tenant": graph["sign_in"]["tenant"]}),
        "  Server addresses:",
        *rows(graph["sign_in"]["server_addresses"]),
        f"  The consent page signs in {graph['sign_in']['signs_in']}.",
        "",
        "Control API on each port: GET /_sandbox/requests, POST /_sandbox/fail,",
        "GET/POST /_sandbox/state (see tests/sandbox.py). Stop with Ctrl+C.",
    ]
    return "\n".join(lines)


def parse_ports(args: argparse.Namespace) -> dict[str, int]:
    """Each provider's port: its own option, else the base plus its place; 0 is any free one."""
    ports = {}
    for offset, name in enumerate(PROVIDERS):
        own = getattr(args, f"{name}_port")
        ports[name] = own if own is not None else (args.port_base and args.port_base + offset)
    return ports


async def serve(args: argparse.Namespace) -> None:
    """Start the sandbox, tell what to type, and serve until stopped."""
    sandbox = Sandbox()
    await sandbox.start(parse_ports(args))
    info = sandbox.info()
    if args.info:  # written whole, then renamed: a reader never sees half of it
        partial = Path(f"{args.info}.partial")
        await asyncio.to_thread(partial.write_text, json.dumps(info, indent=2))
        await asyncio.to_thread(partial.replace, args.info)
    print(json.dumps(info) if args.json else instructions(info), flush=True)  # noqa: T201
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await sandbox.close()


def main(argv: list[str] | None = None) -> None:
    """The command line of `scripts/sandbox`."""
    parser = argparse.ArgumentParser(
        prog="scripts/sandbox", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument(
        "--port-base",
        type=int,
        default=int(os.environ.get("SANDBOX_PORT_BASE", PORT_BASE)),
        help=f"Zoom's port; Vonage, Zulip and Graph take the next three (default {PORT_BASE}, "
        "or $SANDBOX_PORT_BASE; 0 takes free ports)",
    )
    for name in PROVIDERS:
        parser.add_argument(f"--{name}-port", type=int, help=f"{name}'s port, overriding the base")
    parser.add_argument("--info", help="also write the connection details as JSON to this file")
    parser.add_argument("--json", action="store_true", help="print JSON instead of instructions")
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args))
    except OSError as err:
        sys.exit(f"scripts/sandbox: cannot listen: {err} (choose other ports with --port-base)")


if __name__ == "__main__":
    main()
