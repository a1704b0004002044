"""What a person does with Presence Bridge, in a real browser against a real Home Assistant.

The scenarios run in order and build on each other, as one person's afternoon would: add Zoom,
change a presence, add Zulip, add a person, use the action for every provider, recover from a
revoked secret, and restart Home Assistant with a change still on its way. Every assertion on
what a provider received reads the sandbox's request log.
"""

import re
from typing import Any

import pytest

from .harness import Browser, HassProcess, SandboxProcess, wait_for

pytestmark = pytest.mark.e2e

ALICE = "select.alice_archer_presence"
BOB = "select.bob_baker_presence"
ZULIP_STATUS = "text.ada_lovelace_status"


def open_add_integration(browser: Browser, menu_option: str) -> None:
    """Settings > Devices & services > Add integration > Presence Bridge > a provider."""
    page = browser.page
    browser.goto("/config/integrations/dashboard")
    browser.check_translated("Devices & services")
    page.get_by_role("button", name="Add integration").click()
    page.get_by_placeholder("Search for a brand name").fill("Presence Bridge")
    page.locator("dialog-add-integration").get_by_text("Presence Bridge", exact=True).first.click()
    page.get_by_text("Choose a provider").wait_for()
    browser.check_translated("the provider menu")
    page.get_by_text(menu_option, exact=True).click()


def field(browser: Browser, name: str) -> Any:
    """A field of the open config flow dialog, by its key."""
    return browser.page.locator(f"input[name={name}], textarea[name={name}]").first


def submit(browser: Browser) -> None:
    """The dialog's Submit button."""
    browser.page.get_by_role("button", name="Submit").click()


def finish(browser: Browser) -> None:
    """Close the "Name and assign" step of a new entry, keeping the names it suggests."""
    page = browser.page
    page.get_by_text("Name and assign").wait_for()
    browser.check_translated("the new entry's devices")
    page.get_by_role("button", name="Skip and finish").click()


def choose(browser: Browser, select: str, option: str) -> None:
    """Pick an option of a select on a device page (its "Controls" card)."""
    row = browser.page.locator("hui-select-entity-row", has_text=select).first
    row.locator("ha-select").click()
    row.get_by_role("menuitem", name=option, exact=True).click()
    row.get_by_role("menuitem").first.wait_for(state="hidden")


def device_id(hass: HassProcess, entity_id: str) -> str:
    """The device of an entity, through the template API."""
    status, answer = hass.api(
        "POST", "/api/template", {"template": f"{{{{ device_id('{entity_id}') }}}}"}
    )
    assert status == 200, answer
    assert answer and answer != "None", f"no device for {entity_id}"
    return str(answer)


def state_of(hass: HassProcess, entity_id: str) -> str | None:
    """An entity's state, or None while it does not exist."""
    status, state = hass.api("GET", f"/api/states/{entity_id}")
    return str(state["state"]) if status == 200 else None


def entry_state(hass: HassProcess, title: str) -> str:
    """The state of the entry with this title."""
    return next(str(e["state"]) for e in hass.entries() if e["title"] == title)


def writes(sandbox: SandboxProcess, provider: str, since: int, method: str) -> list[dict[str, Any]]:
    """The provider's requests of `method` since `since`, as (path, body) records."""
    return [
        {"path": request["path"], "body": request["body"]}
        for request in sandbox.requests(provider, since)
        if request["method"] == method
    ]


def test_1_add_zoom_and_set_do_not_disturb(
    browser: Browser, hass: HassProcess, sandbox: SandboxProcess
) -> None:
    """A wrong secret first (translated error), the right one, then Do not disturb on the
    device page reaches Zoom as one PUT."""
    zoom = sandbox.info["zoom"]
    page = browser.page
    open_add_integration(browser, "Zoom")
    page.get_by_text("Connect Zoom").wait_for()
    field(browser, "account_id").fill(zoom["form"]["account_id"])
    field(browser, "client_id").fill(zoom["form"]["client_id"])
    field(browser, "client_secret").fill("not-the-secret")
    field(browser, "user_id").fill(zoom["form"]["user_id"])
    page.get_by_text("Server addresses").click()
    field(browser, "api_url").fill(zoom["server_addresses"]["api_url"])
    field(browser, "oauth_url").fill(zoom["server_addresses"]["oauth_url"])
    browser.shot("1-zoom-form")
    submit(browser)
    page.get_by_text("The provider refused the credentials.").wait_for()
    browser.check_translated("the Zoom form with an error")
    browser.shot("1-zoom-form-error")

    field(browser, "client_secret").fill(zoom["form"]["client_secret"])
    submit(browser)
    finish(browser)
    assert [entry["title"] for entry in hass.entries()] == ["Zoom sandbox-account"]
    wait_for(lambda: hass.state(ALICE)["state"] == "available", timeout=30, what="Alice's state")

    since = sandbox.mark("zoom")
    browser.goto(f"/config/devices/device/{device_id(hass, ALICE)}")
    page.get_by_text("Alice Archer").first.wait_for()
    browser.check_translated("Alice's device page")
    choose(browser, "Presence", "Do not disturb")
    wait_for(
        lambda: writes(sandbox, "zoom", since, "PUT"), timeout=20, what="Zoom to receive the PUT"
    )
    assert writes(sandbox, "zoom", since, "PUT") == [
        {
            "path": "/v2/users/ZsAliceArcher0000000001/presence_status",
            "body": {"status": "Do_Not_Disturb", "duration": 20},
        }
    ]
    wait_for(
        lambda: hass.state(ALICE)["state"] == "do_not_disturb", timeout=20, what="the new state"
    )
    browser.shot("1-device-page")
    browser.check_translated("Alice's device page after the change")


def test_2_add_zulip_with_zuliprc_and_set_status(
    browser: Browser, hass: HassProcess, sandbox: SandboxProcess
) -> None:
    """A pasted zuliprc connects Zulip; the Status text on the device page reaches Zulip."""
    zulip = sandbox.info["zulip"]
    page = browser.page
    open_add_integration(browser, "Zulip")
    page.get_by_text("Connect Zulip").wait_for()
    field(browser, "zuliprc").fill(zulip["zuliprc"])
    browser.shot("2-zulip-form")
    submit(browser)
    finish(browser)
    assert "Zulip ada@example.com" in [entry["title"] for entry in hass.entries()]

    since = sandbox.mark("zulip")
    browser.goto(f"/config/devices/device/{device_id(hass, ZULIP_STATUS)}")
    page.get_by_text("Ada Lovelace").first.wait_for()
    browser.check_translated("Ada's (Zulip) device page")
    status = page.get_by_role("textbox", name="Status", exact=True)
    status.fill("Testing the sandbox")
    status.press("Enter")
    wait_for(
        lambda: writes(sandbox, "zulip", since, "POST"), timeout=20, what="Zulip's status POST"
    )
    assert writes(sandbox, "zulip", since, "POST") == [
        {"path": "/api/v1/users/me/status", "body": {"status_text": "Testing the sandbox"}}
    ]
    browser.shot("2-zulip-device-page")


def test_3_add_a_person(browser: Browser, hass: HassProcess, sandbox: SandboxProcess) -> None:
    """Add person, on the Zoom entry, in a translated dialog: Bob gets his Presence select."""
    page = browser.page
    browser.goto("/config/integrations/integration/presence_bridge")
    page.get_by_text("Zoom sandbox-account").first.wait_for()
    browser.check_translated("Presence Bridge's entries")
    browser.shot("3-entries")
    zoom_entry = page.locator("ha-config-entry-row", has_text="Zoom sandbox-account")
    zoom_entry.get_by_role("button", name="Menu").first.click()
    zoom_entry.get_by_role("menuitem", name="Add person").click()
    page.get_by_text("Add a person").wait_for()
    browser.check_translated("the Add person dialog")
    field(browser, "user_id").fill("bob@example.com")
    browser.shot("3-add-person")
    submit(browser)
    wait_for(lambda: state_of(hass, BOB) == "away", timeout=30, what="Bob's Presence select")
    browser.check_translated("the end of Add person")


def add_by_api(hass: HassProcess, sandbox: SandboxProcess, provider: str) -> str:
    """Add a provider's account through the REST config flow; its entry id."""
    info = sandbox.info[provider]
    result = hass.flow(
        "presence_bridge",
        {"next_step_id": provider},
        dict(info["form"]) | {"advanced": dict(info["server_addresses"])},
    )
    assert result["type"] == "create_entry", result
    return str(result["result"]["entry_id"])


def add_person_by_api(hass: HassProcess, entry_id: str, user_id: str) -> None:
    """Add a person to an entry through the REST subentry flow."""
    status, result = hass.api(
        "POST", "/api/config/config_entries/subentries/flow", {"handler": [entry_id, "user"]}
    )
    assert status == 200, result
    status, result = hass.api(
        "POST",
        f"/api/config/config_entries/subentries/flow/{result['flow_id']}",
        {"user_id": user_id},
    )
    assert status == 200 and result["type"] == "create_entry", result


def call(hass: HassProcess, service: str, data: dict[str, Any]) -> Any:
    """Call one of Presence Bridge's actions through the REST API, with its answer."""
    status, answer = hass.api(
        "POST", f"/api/services/presence_bridge/{service}?return_response", data
    )
    assert status == 200, answer
    return answer["service_response"]


def test_4_set_presence_action_for_every_provider(
    hass: HassProcess, sandbox: SandboxProcess
) -> None:
    """`set_presence` (and Zulip's `set_status_message`) through the REST API reach each fake."""
    vonage_entry = add_by_api(hass, sandbox, "vonage")
    ada_guid = sandbox.info["vonage"]["people"]["Ada Lovelace"]
    add_person_by_api(hass, vonage_entry, ada_guid)
    add_by_api(hass, sandbox, "msgraph")
    vonage_ada, adele = "select.ada_lovelace_presence", "select.adele_vance_presence"
    for entity_id in (vonage_ada, adele):
        wait_for(
            lambda entity_id=entity_id: state_of(hass, entity_id) not in (None, "unavailable"),
            timeout=30,
            what=entity_id,
        )
    since = {provider: sandbox.mark(provider) for provider in sandbox.info}

    zoom = call(hass, "set_presence", {"entity_id": BOB, "presence": "available"})
    vonage = call(hass, "set_presence", {"entity_id": vonage_ada, "presence": "Break"})
    graph = call(hass, "set_presence", {"entity_id": adele, "presence": "busy"})
    zulip = call(
        hass,
        "set_status_message",
        {"entity_id": ZULIP_STATUS, "message": "Working from home", "emoji": "home_office"},
    )
    for answer in (zoom, vonage, graph, zulip):
        # "queued" where the send throttle spaces it from the reading that just ran.
        assert [outcome["result"] in ("sent", "queued") for outcome in answer.values()] == [True], (
            answer
        )
    for provider, method in (
        ("zoom", "PUT"),
        ("vonage", "PATCH"),
        ("msgraph", "POST"),
        ("zulip", "POST"),
    ):
        wait_for(
            lambda provider=provider, method=method: writes(
                sandbox, provider, since[provider], method
            ),
            timeout=30,
            what=f"{provider}'s {method}",
        )

    adele_id = sandbox.state("msgraph")["users"]
    adele_id = next(key for key, user in adele_id.items() if user["name"] == "Adele Vance")
    assert writes(sandbox, "zoom", since["zoom"], "PUT") == [
        {
            "path": "/v2/users/ZsBobBaker000000000002/presence_status",
            "body": {"status": "Available"},
        }
    ]
    assert writes(sandbox, "vonage", since["vonage"], "PATCH") == [
        {
            "path": f"/agents/{ada_guid}/presence",
            "body": {"presenceId": "6bbbebbd-f160-4d8d-96db-411b755a18a4"},
        }
    ]
    assert {
        "path": f"/v1.0/users/{adele_id}/presence/setUserPreferredPresence",
        "body": {"availability": "Busy", "activity": "Busy"},
    } in [
        {"path": write["path"], "body": {k: write["body"][k] for k in ("availability", "activity")}}
        for write in writes(sandbox, "msgraph", since["msgraph"], "POST")
        if write["path"].endswith("/setUserPreferredPresence")
    ]
    assert writes(sandbox, "zulip", since["zulip"], "POST") == [
        {
            "path": "/api/v1/users/me/status",
            "body": {
                "status_text": "Working from home",
                "emoji_name": "home_office",
                "emoji_code": "4",
                "reaction_type": "realm_emoji",
            },
        }
    ]
    assert sandbox.state("vonage")["agents"][ada_guid]["presence"] == "Break"


def test_5_reauthenticate_after_the_secret_is_revoked(
    browser: Browser, hass: HassProcess, sandbox: SandboxProcess
) -> None:
    """Zoom refuses the stored secret: Home Assistant asks to reauthenticate, the person enters
    the new secret in the UI, and the entry works again. No page showed a raw translation key."""
    page = browser.page
    new_secret = "rotated-sandbox-secret"
    sandbox.state("zoom", {"client_secret": new_secret, "revoke_tokens": True})
    # Reloaded, the entry signs in again, and Zoom refuses the secret.
    zoom_entry = next(e for e in hass.entries() if e["title"] == "Zoom sandbox-account")
    status, answer = hass.api(
        "POST", f"/api/config/config_entries/entry/{zoom_entry['entry_id']}/reload"
    )
    assert status == 200, answer
    wait_for(
        lambda: entry_state(hass, "Zoom sandbox-account") == "setup_error",
        timeout=30,
        what="the Zoom entry to fail",
    )
    browser.goto("/config/integrations/dashboard")
    notice = page.locator("ha-config-flow-card", has_text="Zoom sandbox-account")
    notice.get_by_role("button", name="Reconfigure").wait_for()
    browser.check_translated("Devices & services asking to reauthenticate")
    browser.shot("5-reauth-notice")

    notice.get_by_role("button", name="Reconfigure").click()
    page.get_by_text("Reconnect Zoom sandbox-account").wait_for()
    browser.check_translated("the reauthentication form")
    field(browser, "client_secret").fill(new_secret)
    browser.shot("5-reauth-form")
    since = sandbox.mark("zoom")
    submit(browser)
    # Home Assistant's own text for `reauth_successful`, or the integration's.
    page.get_by_text(
        re.compile("Re-authentication was successful|The account is reconnected")
    ).wait_for()
    browser.check_translated("the end of reauthentication")
    browser.shot("5-reauth-done")
    page.locator("ha-dialog-footer").get_by_role("button", name="Close").click()

    wait_for(
        lambda: entry_state(hass, "Zoom sandbox-account") == "loaded",
        timeout=30,
        what="the Zoom entry to load again",
    )
    received = [(r["method"], r["path"]) for r in sandbox.requests("zoom", since)]
    assert ("POST", "/oauth/token") in received
    assert ("GET", "/v2/users/ZsAliceArcher0000000001/presence_status") in received
    browser.goto("/config/integrations/dashboard")
    page.get_by_text("Presence Bridge", exact=True).first.wait_for()
    browser.check_translated("Devices & services after reauthentication")
    assert "Reconfigure" not in browser.text()
    assert browser.visited, "no page was checked for raw translation keys"


def test_6_a_queued_change_survives_a_restart(
    browser: Browser, hass: HassProcess, sandbox: SandboxProcess
) -> None:
    """Zoom takes one update per person per minute: a second change waits, Home Assistant is
    restarted meanwhile, and the change reaches Zoom after the restart."""
    since = sandbox.mark("zoom")
    call(hass, "set_presence", {"entity_id": BOB, "presence": "do_not_disturb"})
    queued = call(hass, "set_presence", {"entity_id": BOB, "presence": "away"})
    assert queued[BOB]["result"] == "queued", queued
    attributes = hass.state(BOB)["attributes"]
    assert attributes["pending"] and attributes["send_at"], attributes

    hass.stop()
    before = writes(sandbox, "zoom", since, "PUT")
    assert {"status": "Away"} not in [write["body"] for write in before], before
    hass.start()

    wait_for(
        lambda: any(
            write["body"] == {"status": "Away"} for write in writes(sandbox, "zoom", since, "PUT")
        ),
        timeout=120,
        what="the queued change to reach Zoom after the restart",
    )
    bob = [
        w for w in writes(sandbox, "zoom", since, "PUT") if w["path"].endswith("02/presence_status")
    ]
    assert bob[-1] == {
        "path": "/v2/users/ZsBobBaker000000000002/presence_status",
        "body": {"status": "Away"},
    }
    assert [w["body"]["status"] for w in bob].count("Away") == 1, bob
    wait_for(lambda: state_of(hass, BOB) == "away", timeout=30, what="Bob's state after it")
    browser.goto(f"/config/devices/device/{device_id(hass, BOB)}")
    browser.page.get_by_text("Bob Baker").first.wait_for()
    browser.check_translated("Bob's device page after the restart")
    browser.shot("6-after-restart")


def test_7_sign_in_to_teams_as_yourself(
    browser: Browser, hass: HassProcess, sandbox: SandboxProcess
) -> None:
    """The delegated Teams sign-in: application credentials added from the flow, the sandbox's
    one-button consent page in the pop-up, and the signed-in person's entry."""
    sign_in = sandbox.info["msgraph"]["sign_in"]
    page = browser.page

    def fill_sign_in_form() -> None:
        page.get_by_text("Sign in to Microsoft Teams").wait_for()
        browser.check_translated("the Teams sign-in form")
        field(browser, "tenant").fill(sign_in["tenant"])
        page.get_by_text("Server addresses").click()
        field(browser, "login_url").fill(sign_in["server_addresses"]["login_url"])
        field(browser, "api_url").fill(sign_in["server_addresses"]["api_url"])

    open_add_integration(browser, "Microsoft Teams (sign in as yourself)")
    fill_sign_in_form()
    submit(browser)
    # No application credentials yet: Home Assistant asks for them, then starts over.
    credentials = page.locator("dialog-add-application-credential")
    credentials.locator("input[name=name]").fill("Sandbox")
    credentials.locator("input[name=clientId]").fill(
        sign_in["application_credentials"]["client_id"]
    )
    secret = sign_in["application_credentials"]["client_secret"]
    credentials.locator("input[name=clientSecret]").fill(secret)
    credentials.get_by_role("button", name="Add").click()
    page.get_by_text("Choose a provider").wait_for()
    page.get_by_text("Microsoft Teams (sign in as yourself)", exact=True).click()
    fill_sign_in_form()
    since = sandbox.mark("msgraph")
    with browser.context.expect_page() as popup_info:
        submit(browser)
    consent = popup_info.value
    consent.get_by_text("Sandbox sign-in").wait_for()
    assert "Megan Bowen" in consent.inner_text("body")
    consent.screenshot(path=browser.artifacts / "7-consent-page.png")
    consent.get_by_role("button", name="Accept").click()
    finish(browser)

    assert "Microsoft Teams Megan Bowen" in [entry["title"] for entry in hass.entries()]
    received = [(r["method"], r["path"], r["body"]) for r in sandbox.requests("msgraph", since)]
    token_forms = [body for method, path, body in received if path.endswith("/oauth2/v2.0/token")]
    assert [form["grant_type"] for form in token_forms][:1] == ["authorization_code"], received
    assert ("GET", "/v1.0/me", None) in received
    wait_for(
        lambda: state_of(hass, "select.megan_bowen_presence") not in (None, "unavailable"),
        timeout=30,
        what="Megan's Presence select",
    )
