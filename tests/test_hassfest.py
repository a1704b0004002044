"""What hassfest validates, checked by the project itself.

hassfest (core's `script/hassfest`) does not ship in the `homeassistant` wheel. These tests apply
its rules as far as they concern a custom integration, and the project's stricter ones, with the
validators Home Assistant ships: its manifest loader, `awesomeversion`, `config_validation`,
`validate_selector`, and the services.yaml and icons.json loaders.

What the code uses is found two ways. Running it shows the forms, menus, entities and actions;
reading its source with `ast` finds errors, aborts, exception and repair-issue keys, which only
some paths produce, and cross-checks what running showed. Both directions are checked: every key
the code uses has text, and every text is used.
"""

import ast
from collections import defaultdict
from collections.abc import AsyncGenerator, Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cache
import importlib
import inspect
from pathlib import Path
import re
import string
from typing import Any, get_args, get_type_hints

from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
import homeassistant
from homeassistant.components.select import SelectEntity
from homeassistant.components.sensor import SensorDeviceClass, SensorEntity
from homeassistant.config_entries import (
    HANDLERS,
    SOURCE_USER,
    ConfigEntries,
    ConfigFlow,
    ConfigSubentryFlow,
)
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, Service
from homeassistant.data_entry_flow import FlowHandler, FlowResultType, section
from homeassistant.helpers import config_validation as cv, selector
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import async_get_platforms
from homeassistant.helpers.icon import async_get_icons, convert_shorthand_service_icon
from homeassistant.helpers.service import async_get_all_descriptions
from homeassistant.loader import Manifest, async_get_integration
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from homeassistant.util.json import load_json_object
from homeassistant.util.yaml import load_yaml_dict
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol

from custom_components.presence_bridge.api import PresenceBridgeError
from custom_components.presence_bridge.const import CONF_PROVIDER, DOMAIN
from custom_components.presence_bridge.helpers import translate_error
from custom_components.presence_bridge.providers import PROVIDERS

from .fake_zulip import FakeZulip
from .providers import async_set_up, entry_of, msgraph_case

ROOT = Path(__file__).parent.parent
INTEGRATION = ROOT / "custom_components" / DOMAIN
PACKAGE = f"custom_components.{DOMAIN}"

type Gaps = dict[str, set[Any]]


def _json(name: str) -> dict[str, Any]:
    """A JSON file of the integration as Home Assistant reads it, fresh for every test."""
    return load_json_object(INTEGRATION / name)


def _strings() -> dict[str, Any]:
    """translations/en.json."""
    return _json("translations/en.json")


def _services_yaml() -> dict[str, Any]:
    """services.yaml, read with Home Assistant's YAML loader."""
    return load_yaml_dict(str(INTEGRATION / "services.yaml"))


def _gaps(used: Iterable[Any], text: Iterable[Any]) -> Gaps:
    """Keys the code uses without text (or icon), and texts the code never uses."""
    used, text = set(used), set(text)
    return {"missing": used - text, "unused": text - used}


def _not_in(found: Iterable[Any], known: Iterable[Any]) -> Gaps:
    """One direction only: what was `found` (by running, by reading) but is not `known`."""
    return {"missing": set(found) - set(known), "unused": set()}


NO_GAPS: Gaps = {"missing": set(), "unused": set()}


def _problems(gaps: dict[str, Gaps]) -> dict[str, Gaps]:
    """Only the comparisons that found something, for one readable assertion."""
    return {where: found for where, found in gaps.items() if any(found.values())}


def _placeholders(text: str) -> set[str]:
    """The `{name}` placeholders of a text."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


# --- hassfest's schemas for en.json, services.yaml and icons.json -------------------------------

KEY = vol.Match(r"^[a-z0-9]+(_[a-z0-9]+)*$", msg="not a lowercase snake_case key")
ICON = vol.Match(r"^mdi:[a-z0-9]+(-[a-z0-9]+)*$", msg="not an mdi: icon")
PLATFORM = vol.In([platform.value for platform in Platform])


def _text(value: Any) -> str:
    """A text as hassfest accepts it and as a custom integration must ship it.

    hassfest: a string without HTML, placeholders not in single quotes. A custom integration
    also needs full text: `[%key:…%]` references are resolved only when core builds its files.
    """
    if not isinstance(value, str) or not value.strip():
        raise vol.Invalid("expected a non-empty text")
    cv.string_with_no_html(value)
    if "[%key:" in value:
        raise vol.Invalid("[%key:…%] references are resolved only in core's build")
    if re.search(r"'\{[^}]*\}'", value):
        raise vol.Invalid("placeholders go in double quotes, not single")
    try:
        _placeholders(value)
    except ValueError as err:
        raise vol.Invalid(f"unbalanced braces: {err}") from err
    return value


TEXTS = {str: _text}
_STEP = {
    vol.Optional("title"): _text,
    vol.Optional("description"): _text,
    vol.Optional("submit"): _text,
    vol.Optional("data"): TEXTS,
    vol.Optional("data_description"): TEXTS,
    vol.Optional("menu_options"): {KEY: _text},
    vol.Optional("menu_option_descriptions"): {KEY: _text},
    vol.Optional("sections"): {
        str: {
            vol.Required("name"): _text,
            vol.Optional("description"): _text,
            vol.Optional("data"): TEXTS,
            vol.Optional("data_description"): TEXTS,
        }
    },
}
_FLOW = {
    vol.Optional("flow_title"): _text,
    vol.Optional("step"): {KEY: _STEP},
    vol.Optional("error"): {KEY: _text},
    vol.Optional("abort"): {KEY: _text},
    vol.Optional("progress"): {KEY: _text},
    vol.Optional("create_entry"): {KEY: _text},
}
_NAMED = {vol.Required("name"): _text, vol.Optional("state"): {KEY: _text}}
STRINGS_SCHEMA = vol.Schema(
    {
        vol.Required("config"): _FLOW,
        vol.Optional("config_subentries"): {
            KEY: {
                **_FLOW,
                vol.Required("entry_type"): _text,
                vol.Required("initiate_flow"): {
                    vol.Optional("user"): _text,
                    vol.Optional("reconfigure"): _text,
                },
            }
        },
        vol.Optional("options"): _FLOW,
        vol.Optional("entity"): {
            PLATFORM: {
                KEY: {
                    vol.Optional("name"): _text,
                    vol.Optional("state"): {KEY: _text},
                    vol.Optional("state_attributes"): {KEY: _NAMED},
                    vol.Optional("unit_of_measurement"): _text,
                }
            }
        },
        vol.Optional("exceptions"): {KEY: {vol.Required("message"): _text}},
        vol.Optional("issues"): {
            KEY: {vol.Required("title"): _text, vol.Required("description"): _text}
        },
        vol.Optional("services"): {
            KEY: {
                vol.Required("name"): _text,
                vol.Required("description"): _text,
                vol.Optional("fields"): {
                    KEY: {
                        vol.Required("name"): _text,
                        vol.Required("description"): _text,
                        vol.Optional("example"): _text,
                    }
                },
                vol.Optional("sections"): {
                    KEY: {vol.Required("name"): _text, vol.Optional("description"): _text}
                },
            }
        },
        vol.Optional("selector"): {KEY: {vol.Required("options"): {KEY: _text}}},
    }
)
"""hassfest's translation schema, closed: a misspelt key (`data_descriptions`) fails too."""

_SERVICE_FIELD = vol.Schema(
    {
        vol.Optional("required"): bool,
        vol.Optional("advanced"): bool,
        vol.Optional("example"): object,
        vol.Optional("default"): object,
        vol.Required("selector"): selector.validate_selector,
        vol.Optional("filter"): dict,
    }
)
SERVICES_SCHEMA = vol.Schema(
    {
        KEY: {
            vol.Optional("target"): vol.All(
                {vol.Required("entity"): dict},  # hassfest refuses a `device` filter
                selector.TargetSelector.CONFIG_SCHEMA,
            ),
            vol.Optional("fields"): {
                KEY: vol.Any(
                    _SERVICE_FIELD,
                    {
                        vol.Optional("collapsed"): bool,
                        vol.Required("fields"): {KEY: _SERVICE_FIELD},
                    },
                )
            },
        }
    }
)
"""services.yaml: names and descriptions live in en.json, every field has a selector."""

ICONS_SCHEMA = vol.Schema(
    {
        vol.Optional("entity"): {
            PLATFORM: {
                KEY: {
                    vol.Required("default"): ICON,
                    vol.Optional("state"): {KEY: ICON},
                    vol.Optional("state_attributes"): {
                        KEY: {vol.Optional("default"): ICON, vol.Optional("state"): {KEY: ICON}}
                    },
                }
            }
        },
        vol.Optional("services"): {
            KEY: vol.Any(
                ICON, {vol.Required("service"): ICON, vol.Optional("sections"): {KEY: ICON}}
            )
        },
    }
)


# --- Reading the source ---------------------------------------------------------------------


class UnresolvedError(Exception):
    """A key the source computes in a way `Code.strings` cannot follow: teach it, don't skip it."""


class SourceModule:
    """One module of the integration, parsed, with the namespace its names resolve in."""

    def __init__(self, path: Path, namespace: Mapping[str, Any], name: str) -> None:
        """Parse `path`; `name` is the dotted module name (its last part names a platform)."""
        self.path, self.namespace, self.name = path, namespace, name
        self.tree = ast.parse(path.read_text(), str(path))
        self.parent = {
            child: node for node in ast.walk(self.tree) for child in ast.iter_child_nodes(node)
        }
        self.top_level: dict[str, ast.stmt] = {}
        for node in self.tree.body:
            match node:
                case ast.FunctionDef() | ast.AsyncFunctionDef() | ast.ClassDef():
                    self.top_level[node.name] = node
                case (
                    ast.Assign(targets=[ast.Name(id=name)])
                    | ast.AnnAssign(target=ast.Name(id=name))
                ):
                    self.top_level[name] = node

    @classmethod
    def of(cls, module_name: str) -> SourceModule:
        """The source of an imported module."""
        module = importlib.import_module(module_name)
        return cls(Path(inspect.getfile(module)), vars(module), module_name)

    def function_of(self, node: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        """The function a node is in, if any."""
        while (node := self.parent.get(node)) is not None:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                return node
        return None

    def reachable(self, root: str, exclude: set[str]) -> list[ast.stmt]:
        """`root` and every top-level definition it refers to, transitively, but `exclude`."""
        seen, todo = {root}, [self.top_level[root]]
        found = []
        while todo:
            found.append(node := todo.pop())
            for name in ast.walk(node):
                if isinstance(name, ast.Name) and name.id in self.top_level:
                    if name.id not in seen | exclude:
                        seen.add(name.id)
                        todo.append(self.top_level[name.id])
        return found


@dataclass(frozen=True)
class Where:
    """Where an expression is: its module, and the function around it (None: module level)."""

    source: SourceModule
    function: ast.FunctionDef | ast.AsyncFunctionDef | None

    def at(self, node: ast.AST) -> str:
        """`file:line` of a node, for messages."""
        return f"{self.source.path.name}:{getattr(node, 'lineno', '?')}"


type Bindings = dict[str, tuple[ast.expr, Where]]


def _call_name(call: ast.Call) -> str | None:
    """`f` for `f(…)`, `obj.f(…)` and `self.f(…)`."""
    match call.func:
        case ast.Name(id=name) | ast.Attribute(attr=name):
            return name
    return None


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    """The expression passed as `name=`."""
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


@dataclass
class FlowKeys:
    """What one flow handler's source can show: steps, errors, abort reasons."""

    steps: set[str] = field(default_factory=set)
    errors: set[str] = field(default_factory=set)
    aborts: set[str] = field(default_factory=set)


@dataclass
class UsedKeys:
    """The `translation_key`s the source passes, by what they translate."""

    exceptions: set[str] = field(default_factory=set)
    exception_placeholders: list[tuple[str, set[str], str]] = field(default_factory=list)
    """(key, the placeholders passed, where) for calls that pass a literal dict."""
    issues: set[str] = field(default_factory=set)
    entities: set[tuple[str, str]] = field(default_factory=set)
    selectors: set[str] = field(default_factory=set)


HA_ABORTS: dict[str, tuple[str | None, frozenset[str]]] = {
    "async_abort": ("reason", frozenset()),
    "_abort_if_unique_id_configured": ("error", frozenset({"already_configured"})),
    "_abort_if_unique_id_mismatch": ("reason", frozenset({"unique_id_mismatch"})),
    "async_set_unique_id": (None, frozenset({"already_in_progress"})),
}
"""ConfigFlow helpers that abort: the keyword naming the reason, and the reasons without it.
`test_home_assistant_abort_reasons` checks this against the installed Home Assistant."""
UPDATE_ABORTS = {"async_update_and_abort", "async_update_reload_and_abort"}
"""They abort `reauth_successful` or `reconfigure_successful`, after the flow's source."""


class Code:
    """The integration's modules read with `ast`: what keys, steps and reasons they can produce."""

    def __init__(self, sources: list[SourceModule]) -> None:
        """Read these modules."""
        self.sources = sources
        self.defined = {
            node.name
            for source in sources
            for node in ast.walk(source.tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        """The functions and methods the modules define."""

    def source(self, module_name: str) -> SourceModule:
        """The source of a module by its dotted name."""
        return next(source for source in self.sources if source.name == module_name)

    def calls(self, name: str) -> Iterator[tuple[ast.Call, Where]]:
        """Every call of a function or method named `name`, `partial(name, …)` included."""
        for source in self.sources:
            for node in ast.walk(source.tree):
                if not isinstance(node, ast.Call):
                    continue
                if _call_name(node) == name:
                    yield node, Where(source, source.function_of(node))
                elif _call_name(node) == "partial" and node.args:
                    bound = ast.Call(func=node.args[0], args=node.args[1:], keywords=node.keywords)
                    if _call_name(ast.copy_location(bound, node)) == name:
                        yield bound, Where(source, source.function_of(node))

    def strings(
        self, expr: ast.expr, where: Where, bindings: Bindings | None = None
    ) -> set[str | None]:
        """Every value `expr` can take (strings and None), following names and call sites."""
        if bindings is None and self._parameters_in(expr, where):
            return set().union(
                *(self.strings(expr, where, bound) for bound in self._call_bindings(where))
            )
        match expr:
            case ast.Constant(value=str() | None as value):
                return {value}
            case ast.Name(id=name) if bindings and name in bindings:
                argument, argument_where = bindings[name]
                return self.strings(argument, argument_where)
            case ast.Name(id=name) if assigned := self._assigned(name, where):
                return set().union(*(self.strings(value, where, bindings) for value in assigned))
            case ast.Name(id=name) if (outer := self._enclosing(name, where)) is not None:
                return self.strings(expr, outer)  # a closure reads it from the function around
            case ast.Name(id=name) if isinstance(value := where.source.namespace.get(name), str):
                return {value}
            case ast.Name(id=name) if (looped := self._looped_over(name, where)) is not None:
                return set(looped)
            case ast.BoolOp(op=ast.Or(), values=operands):
                found: set[str | None] = set()
                for operand in operands:
                    values = self.strings(operand, where, bindings)
                    found |= {value for value in values if value}
                    if all(values):
                        return found
                return found | {value for value in values if not value}
            case ast.IfExp(body=body, orelse=orelse):
                return self.strings(body, where, bindings) | self.strings(orelse, where, bindings)
            case ast.Tuple(elts=elements):  # several values at once (an action's entity domains)
                return set().union(*(self.strings(e, where, bindings) for e in elements))
            case ast.Attribute(value=ast.Name(id=name), attr=attr) if raised := self._raised_with(
                name, attr, where
            ):
                return set().union(
                    *(self.strings(call.args[0], at) for call, at in self.calls(raised))
                )
        raise UnresolvedError(f"{where.at(expr)}: {ast.unparse(expr)}")

    def known(self, expr: ast.expr, where: Where) -> set[str]:
        """The strings `expr` can be (None, an absent key, left out)."""
        return {value for value in self.strings(expr, where) if value}

    @staticmethod
    def _parameters(where: Where) -> set[str]:
        """The parameters of the surrounding function (but `self` and `cls`)."""
        if where.function is None:
            return set()
        arguments = where.function.args
        names = {a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)}
        return names - {"self", "cls"}

    def _parameters_in(self, expr: ast.expr, where: Where) -> set[str]:
        """The parameters of the surrounding function that `expr` reads."""
        names = {node.id for node in ast.walk(expr) if isinstance(node, ast.Name)}
        return names & self._parameters(where)

    def _enclosing(self, name: str, where: Where) -> Where | None:
        """The function around the surrounding one that binds `name`, for a closure."""
        function = where.function
        while function is not None and (function := where.source.function_of(function)):
            outer = Where(where.source, function)
            if name in self._parameters(outer) or self._assigned(name, outer):
                return outer
        return None

    def _call_bindings(self, where: Where) -> Iterator[Bindings]:
        """For each call of the surrounding function, what its parameters are bound to."""
        function = where.function
        assert function is not None
        arguments, module_level = function.args, Where(where.source, None)
        positional = [a.arg for a in (*arguments.posonlyargs, *arguments.args)]
        with_default = positional[len(positional) - len(arguments.defaults) :]
        defaults: Bindings = {
            name: (default, module_level)
            for name, default in zip(with_default, arguments.defaults, strict=True)
        }
        defaults |= {
            parameter.arg: (default, module_level)
            for parameter, default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
            if default is not None
        }
        sites = list(self.calls(function.name))
        if not sites:
            raise UnresolvedError(f"{where.at(function)}: {function.name} is never called")
        for call, at in sites:
            names = positional[1:] if positional[:1] in (["self"], ["cls"]) else positional
            if any(isinstance(arg, ast.Starred) for arg in call.args) or any(
                kw.arg is None for kw in call.keywords
            ):
                raise UnresolvedError(f"{at.at(call)}: *args or **kwargs in {ast.unparse(call)}")
            bound = dict(defaults)
            bound |= {name: (arg, at) for name, arg in zip(names, call.args, strict=False)}
            bound |= {kw.arg: (kw.value, at) for kw in call.keywords if kw.arg}
            yield bound

    @staticmethod
    def _looped_over(name: str, where: Where) -> list[str] | None:
        """The strings a `for name in CONSTANT:` loop gives `name`, CONSTANT being module-level."""
        for node in ast.walk(where.function or where.source.tree):
            match node:
                case ast.For(target=ast.Name(id=target), iter=ast.Name(id=iterable)) if (
                    target == name
                ):
                    values = list(where.source.namespace.get(iterable, ()))
                    if values and all(isinstance(value, str) for value in values):
                        return values
        return None

    @staticmethod
    def _assigned(name: str, where: Where) -> list[ast.expr]:
        """The values assigned to a local name (or, at module level, a global one)."""
        scope = where.function.body if where.function else where.source.tree.body
        values = []
        for statement in scope:
            for node in ast.walk(statement):
                match node:
                    case ast.Assign(targets=targets, value=value) if any(
                        isinstance(target, ast.Name) and target.id == name for target in targets
                    ):
                        values.append(value)
                    case ast.AnnAssign(target=ast.Name(id=target), value=value) if (
                        target == name and value is not None
                    ):
                        values.append(value)
        return values

    def _raised_with(self, name: str, attr: str, where: Where) -> str | None:
        """The exception class `name` was caught as, if its `attr` is its first argument.

        `except FormError as err: … err.error` reads what `FormError("…")` was raised with.
        """
        handlers = ast.walk(where.function) if where.function else ()
        for handler in handlers:
            if not (
                isinstance(handler, ast.ExceptHandler)
                and handler.name == name
                and isinstance(handler.type, ast.Name)
            ):
                continue
            defined_in = getattr(where.source.namespace.get(handler.type.id), "__module__", None)
            source = next((s for s in self.sources if s.name == defined_in), where.source)
            exception = source.top_level.get(handler.type.id)
            init = next(
                (
                    node
                    for node in getattr(exception, "body", ())
                    if isinstance(node, ast.FunctionDef) and node.name == "__init__"
                ),
                None,
            )
            if init is None or len(init.args.args) < 2:
                return None
            first = init.args.args[1].arg
            for node in ast.walk(init):
                match node:
                    case ast.Assign(
                        targets=[ast.Attribute(value=ast.Name(id="self"), attr=stored)],
                        value=ast.Name(id=value),
                    ) if stored == attr and value == first:
                        return handler.type.id
        return None

    def flow_keys(self, flow: type[FlowHandler]) -> FlowKeys:
        """Steps, errors and abort reasons the code of one flow handler can produce.

        It reads the handler's class and the module-level code it refers to, not other flow
        handlers of the module. Errors are `{"base": …}` and `errors[…] = …`; aborts come from
        `async_abort`, `AbortFlow` and Home Assistant's aborting helpers (HA_ABORTS).
        """
        source = self.source(flow.__module__)
        handlers = {
            name
            for name, value in source.namespace.items()
            if isinstance(value, type) and issubclass(value, FlowHandler)
        }
        keys = FlowKeys()
        for node in (
            n
            for top in source.reachable(flow.__name__, handlers - {flow.__name__})
            for n in ast.walk(top)
        ):
            where = Where(source, source.function_of(node))
            match node:
                case ast.Dict(keys=dict_keys, values=values):
                    for key, value in zip(dict_keys, values, strict=True):
                        if isinstance(key, ast.Constant) and key.value == "base":
                            keys.errors |= self.known(value, where)
                case ast.Assign(targets=[ast.Subscript(value=ast.Name(id="errors"))], value=value):
                    keys.errors |= self.known(value, where)
                case ast.Call():
                    keys.steps |= self._call_steps(node, where)
                    keys.aborts |= self._call_aborts(node, where, flow)
        return keys

    def _call_steps(self, call: ast.Call, where: Where) -> set[str]:
        """The step a call shows (`step_id=`)."""
        step = _keyword(call, "step_id")
        return self.known(step, where) if step is not None else set()

    def _call_aborts(self, call: ast.Call, where: Where, flow: type[FlowHandler]) -> set[str]:
        """The abort reasons a call in a flow handler can end the flow with."""
        name = _call_name(call)
        if name == "AbortFlow":
            return self.known(call.args[0], where)
        if name in UPDATE_ABORTS:
            if (reason := _keyword(call, "reason")) is not None:
                return self.known(reason, where)
            if issubclass(flow, ConfigSubentryFlow):
                return {"reconfigure_successful"}
            sources = {"reauth": "reauth_successful", "reconfigure": "reconfigure_successful"}
            return {
                reason for step, reason in sources.items() if hasattr(flow, f"async_step_{step}")
            }
        if name == "async_create_entry" and issubclass(flow, ConfigSubentryFlow):
            unique_id = _keyword(call, "unique_id")
            is_none = isinstance(unique_id, ast.Constant) and unique_id.value is None
            return {"already_configured"} if unique_id is not None and not is_none else set()
        if name == "async_set_unique_id":
            raise_on_progress = _keyword(call, "raise_on_progress")
            if isinstance(raise_on_progress, ast.Constant) and raise_on_progress.value is False:
                return set()
        if name not in HA_ABORTS:
            return set()
        keyword, defaults = HA_ABORTS[name]
        given = _keyword(call, keyword) if keyword else None
        return self.known(given, where) if given is not None else set(defaults)

    def used(self) -> UsedKeys:
        """Every `translation_key` the source passes, classified by what it translates."""
        used = UsedKeys()
        for source in self.sources:
            platform = source.name.rpartition(".")[2]
            for node in ast.walk(source.tree):
                where = Where(source, source.function_of(node))
                match node:
                    case ast.Call() if (key := _keyword(node, "translation_key")) is not None:
                        self._classify(node, key, where, platform, used)
                    case ast.Assign(targets=[ast.Name(id="_attr_translation_key")], value=value) | (
                        ast.Assign(
                            targets=[ast.Attribute(attr="_attr_translation_key")], value=value
                        )
                    ):
                        used.entities |= {(platform, key) for key in self.known(value, where)}
        return used

    def _classify(
        self, call: ast.Call, key: ast.expr, where: Where, platform: str, used: UsedKeys
    ) -> None:
        """Record one `translation_key=` by the call it is passed to."""
        name = _call_name(call) or ""
        if name in self.defined:
            return  # passed on to a function of ours: found where that one passes it on
        keys = self.known(key, where)
        if (domain := _keyword(call, "translation_domain")) is not None:
            if self.known(domain, where) == {DOMAIN}:  # a Home Assistant error of ours
                used.exceptions |= keys
                placeholders = _keyword(call, "translation_placeholders")
                if isinstance(placeholders, ast.Dict) and all(
                    isinstance(k, ast.Constant) for k in placeholders.keys
                ):
                    given = {k.value for k in placeholders.keys if isinstance(k, ast.Constant)}
                    used.exception_placeholders += [(k, given, where.at(call)) for k in keys]
        elif name == "async_create_issue":
            assert self.known(call.args[1], where) == {DOMAIN}, where.at(call)
            used.issues |= keys
        elif name.endswith("EntityDescription"):
            assert platform in {p.value for p in Platform}, where.at(call)
            used.entities |= {(platform, k) for k in keys}
        elif name.endswith("SelectorConfig"):
            used.selectors |= keys
        else:
            raise UnresolvedError(f"{where.at(call)}: a translation_key for {name}: classify it")

    def entity_service_domains(self, services: Iterable[str]) -> dict[str, set[str]]:
        """Each action's entity domains, from the calls that pass `entity_domain=` and the
        action's name as values the code spells out (a registrar of Home Assistant's or ours)."""
        domains: dict[str, set[str]] = defaultdict(set)
        for source in self.sources:
            for call in (node for node in ast.walk(source.tree) if isinstance(node, ast.Call)):
                where = Where(source, source.function_of(call))
                entity_domain = _keyword(call, "entity_domain")
                if entity_domain is None or self._parameters_in(entity_domain, where):
                    continue  # a wrapper passing its own parameter on: see its callers instead
                named = set()
                for argument in (*call.args, *(kw.value for kw in call.keywords)):
                    if not self._parameters_in(argument, where):
                        with suppress(UnresolvedError):  # `hass`, a schema, a handler
                            named |= self.known(argument, where) & set(services)
                for service in named:
                    domains[service] |= self.known(entity_domain, where)
        return dict(domains)


@cache
def _code() -> Code:
    """The integration's own modules (not `api/`, which knows nothing of Home Assistant)."""
    return Code(
        [
            SourceModule.of(
                ".".join((PACKAGE, *parts[:-1], *[p for p in parts[-1:] if p != "__init__"]))
            )
            for path in sorted(INTEGRATION.rglob("*.py"))
            if (parts := path.relative_to(INTEGRATION).with_suffix("").parts)[0] != "api"
        ]
    )


# --- Running the integration ----------------------------------------------------------------


@pytest.fixture
async def zulip_entry(hass: HomeAssistant, socket_enabled: None) -> AsyncGenerator[MockConfigEntry]:
    """A loaded Zulip entry (status text and presets) for Ada, on a fake Zulip."""
    fake = FakeZulip(clock=lambda: dt_util.utcnow().timestamp())
    ada = str(fake.add_user("Ada Lovelace", "ada@example.com"))
    async with fake:
        yield await async_set_up(
            hass,
            entry_of(
                fake,
                title="Zulip ada@example.com",
                unique_id=f"{fake.url}:{ada}",
                people={ada: "Ada Lovelace"},
            ),
        )


@pytest.fixture
async def graph_entry(hass: HomeAssistant, socket_enabled: None) -> AsyncGenerator[MockConfigEntry]:
    """A loaded Microsoft Teams entry (its own presence options, a status text), on a fake Graph."""
    case = msgraph_case()
    async with case.fake:
        entry = case.entry()
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        yield entry


@pytest.fixture
async def entities(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    zulip_entry: MockConfigEntry,
    graph_entry: MockConfigEntry,
) -> dict[tuple[str, str], list[Entity]]:
    """The running entities of a Zoom, a Zulip and a Teams entry, by key."""
    by_key = defaultdict(list)
    for platform in async_get_platforms(hass, DOMAIN):
        for entity in platform.entities.values():
            by_key[platform.domain, entity.translation_key].append(entity)
    return dict(by_key)


@pytest.fixture
async def services(hass: HomeAssistant) -> dict[str, Service]:
    """The actions `async_setup` registers."""
    assert await async_setup_component(hass, DOMAIN, {})
    return hass.services.async_services_for_domain(DOMAIN)


def _flow_handlers(entry: MockConfigEntry) -> dict[tuple[str, ...], type[FlowHandler]]:
    """Each flow handler by the en.json section holding its texts."""
    handler = HANDLERS[DOMAIN]
    handlers: dict[tuple[str, ...], type[FlowHandler]] = {("config",): handler}
    if handler.async_supports_options_flow(entry):
        handlers["options",] = type(handler.async_get_options_flow(entry))
    for subentry_type, flow in handler.async_get_supported_subentry_types(entry).items():
        handlers["config_subentries", subentry_type] = flow
    return handlers


@pytest.fixture
async def shown(
    hass: HomeAssistant, init_integration: MockConfigEntry, graph_entry: MockConfigEntry
) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    """Every menu, form and early abort the flows show before anything is sent, by section.

    The menu and each provider's form; reauth and reconfigure for an entry of each provider;
    the options; the subentry flow of the loaded Zoom entry and of an entry not loaded.
    """
    shown: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    flows, config = hass.config_entries.flow, ("config",)

    def keep(path: tuple[str, ...], result: Any, manager: Any) -> None:
        shown[path].append(result)
        if result["type"] is not FlowResultType.ABORT:
            manager.async_abort(result["flow_id"])

    menu = await flows.async_init(DOMAIN, context={"source": SOURCE_USER})
    for option in menu["menu_options"]:
        result = await flows.async_init(DOMAIN, context={"source": SOURCE_USER})
        keep(
            config, await flows.async_configure(result["flow_id"], {"next_step_id": option}), flows
        )
    keep(config, menu, flows)
    idle = []
    for provider in PROVIDERS:
        sign_in = {"tenant": "organizations", "login_url": "https://l", "api_url": "https://a"}
        entry = MockConfigEntry(
            domain=DOMAIN, title=f"{provider} account", data={CONF_PROVIDER: provider, **sign_in}
        )
        entry.add_to_hass(hass)
        idle.append(entry)
        keep(config, await entry.start_reauth_flow(hass), flows)
        keep(config, await entry.start_reconfigure_flow(hass), flows)
    options = hass.config_entries.options
    # Teams adds the presence session switch; each provider its own fields (Zoom's plan, …).
    for entry in (init_integration, graph_entry, *idle):
        keep(("options",), await options.async_init(entry.entry_id), options)
    subentries = hass.config_entries.subentries
    for subentry_type in HANDLERS[DOMAIN].async_get_supported_subentry_types(init_integration):
        for entry in (init_integration, idle[0]):
            result = await subentries.async_init(
                (entry.entry_id, subentry_type), context={"source": SOURCE_USER}
            )
            keep(("config_subentries", subentry_type), result, subentries)
    return dict(shown)


@dataclass
class Form:
    """What the shown forms of one step asked, merged over every time it was shown."""

    fields: set[str] = field(default_factory=set)
    sections: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    menu: set[str] = field(default_factory=set)
    placeholders: set[str] | None = None
    """The description placeholders every showing provided."""


def _forms(results: list[dict[str, Any]]) -> dict[str, Form]:
    """The shown menus and forms by step id."""
    forms: dict[str, Form] = defaultdict(Form)
    for result in results:
        if result["type"] not in (FlowResultType.FORM, FlowResultType.MENU):
            continue
        form = forms[result["step_id"]]
        form.menu |= set(result.get("menu_options") or ())
        schema = result.get("data_schema") if result["type"] is FlowResultType.FORM else None
        for name, value in _schema_items(schema):
            if isinstance(value, section):
                form.sections[name] |= {key for key, _ in _schema_items(value.schema)}
            else:
                form.fields.add(name)
        given = set(result.get("description_placeholders") or {})
        form.placeholders = given if form.placeholders is None else form.placeholders & given
    return dict(forms)


def _schema_items(schema: vol.Schema | None) -> Iterator[tuple[str, Any]]:
    """A form schema's fields and their validators."""
    for marker, value in (schema.schema if schema is not None else {}).items():
        yield str(marker), value


def _selectors(schema: vol.Schema | None) -> Iterator[selector.Selector]:
    """The selectors of a form, sections included."""
    for _, value in _schema_items(schema):
        if isinstance(value, section):
            yield from _selectors(value.schema)
        elif isinstance(value, selector.Selector):
            yield value


def _option_values(options: Iterable[str | Mapping[str, str]]) -> set[str]:
    """A select selector's option values."""
    return {option if isinstance(option, str) else option["value"] for option in options}


def _section(strings: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """The en.json part at `path`, empty where absent."""
    for key in path:
        strings = strings.get(key, {})
    return strings


# --- manifest.json --------------------------------------------------------------------------

MANIFEST_REQUIRED = {
    "domain",
    "name",
    "codeowners",
    "config_flow",
    "documentation",
    "integration_type",
    "iot_class",
    "issue_tracker",
    "requirements",
    "version",
}
"""hassfest's required keys for a custom integration, HACS's, and the project's (§8)."""
NOT_REQUIREMENTS = {"homeassistant", "voluptuous", "probatio", "aiohttp"}
"""Home Assistant provides these; listing them would fight its pins (§4)."""


def test_manifest_keys_and_order() -> None:
    """`domain`, `name`, then the rest alphabetically, as hassfest sorts them; keys HA knows."""
    manifest = _json("manifest.json")
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    assert MANIFEST_REQUIRED - set(keys) == set()
    assert set(keys) - set(get_type_hints(Manifest)) == set()
    assert "quality_scale" not in manifest  # custom integrations are not graded (§5)


def _core_iot_classes() -> set[str]:
    """The IoT classes core integrations use, from Home Assistant's generated index."""
    index = load_json_object(Path(homeassistant.__file__).parent / "generated/integrations.json")
    found, todo = set(), [index]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            if isinstance(iot_class := node.get("iot_class"), str):
                found.add(iot_class)
            todo.extend(node.values())
    return found


def test_manifest_values() -> None:
    """Values hassfest (and HACS) accept; the version as Home Assistant's loader checks it."""
    manifest = _json("manifest.json")
    assert manifest["domain"] == INTEGRATION.name
    AwesomeVersion(
        manifest["version"],
        ensure_strategy=[
            AwesomeVersionStrategy.CALVER,
            AwesomeVersionStrategy.SEMVER,
            AwesomeVersionStrategy.SIMPLEVER,
            AwesomeVersionStrategy.BUILDVER,
            AwesomeVersionStrategy.PEP440,
        ],
    )
    assert manifest["iot_class"] in _core_iot_classes()
    integration_types = get_args(get_type_hints(Manifest)["integration_type"])
    assert manifest["integration_type"] in integration_types
    assert manifest["codeowners"]
    assert all(re.fullmatch(r"@[\w.-]+(/[\w.-]+)?", owner) for owner in manifest["codeowners"])
    for key in ("documentation", "issue_tracker"):
        assert cv.url(manifest[key]).startswith("https://")
    assert manifest["config_flow"] is True
    assert (INTEGRATION / "config_flow.py").is_file()
    requirements = manifest["requirements"]
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+(\[[\w,]+\])?==\S+", r) for r in requirements)
    assert {re.split(r"[\[=]", r)[0].lower() for r in requirements} & NOT_REQUIREMENTS == set()
    for key in ("dependencies", "after_dependencies"):
        dependencies = manifest.get(key, [])
        assert dependencies == sorted(set(dependencies))
        assert DOMAIN not in dependencies


async def test_manifest_loads_in_home_assistant(hass: HomeAssistant) -> None:
    """Home Assistant's loader takes the manifest (it refuses an invalid version) and resolves
    every dependency."""
    integration = await async_get_integration(hass, DOMAIN)
    manifest = _json("manifest.json")
    assert {key: integration.manifest.get(key) for key in manifest} == manifest
    assert not integration.is_built_in
    assert integration.config_flow
    for dependency in (*integration.dependencies, *integration.after_dependencies):
        await async_get_integration(hass, dependency)


def test_used_components_are_dependencies() -> None:
    """hassfest: a `homeassistant.components.x` import needs `x` in the dependencies, unless
    `x` is an entity platform or the importing file is the integration's own `x` platform."""
    manifest = _json("manifest.json")
    allowed = {platform.value for platform in Platform}
    allowed |= {*manifest.get("dependencies", []), *manifest.get("after_dependencies", [])}
    unlisted = []
    for path in sorted(INTEGRATION.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            modules = [alias.name for alias in getattr(node, "names", ())]
            if isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            for module in modules:
                parts = module.split(".")
                if parts[:2] == ["homeassistant", "components"] and len(parts) > 2:
                    if parts[2] not in allowed and parts[2] != path.stem:
                        unlisted.append(f"{path.name}: {module}")
    assert unlisted == []


def test_config_schema_with_async_setup() -> None:
    """hassfest: an integration with `async_setup` and a config flow declares CONFIG_SCHEMA."""
    module = importlib.import_module(PACKAGE)
    assert hasattr(module, "async_setup")
    assert callable(getattr(module, "CONFIG_SCHEMA", None))


# --- translations/en.json: shape ------------------------------------------------------------


def test_translations_schema() -> None:
    """en.json passes hassfest's translation schema and the custom-integration text rules."""
    STRINGS_SCHEMA(_strings())


@pytest.mark.parametrize(
    "bad",
    [
        {"config": {"abort": {"x": "[%key:common::config_flow::abort::already_configured%]"}}},
        {"entity": {"select": {"presence": {"state": {"Do_Not_Disturb": "Do not disturb"}}}}},
        {"config": {"error": {"unknown": " "}}},
        {"exceptions": {"x": {"message": "Cannot set '{entity}'."}}},
        {"exceptions": {"x": {"message": "Cannot set <b>{entity}</b>."}}},
        {"config": {"step": {"user": {"data_descriptions": {"x": "X"}}}}},
        {"services": {"set_presence": {"name": "Set presence"}}},
    ],
    ids=[
        "key reference",
        "state key case",
        "blank",
        "single quotes",
        "html",
        "typo",
        "no description",
    ],
)
def test_translation_rules_catch(bad: dict[str, Any]) -> None:
    """Each rule refuses what hassfest (or a custom integration's frontend) would."""
    with pytest.raises(vol.Invalid):
        STRINGS_SCHEMA({"config": {}} | bad)


# --- translations/en.json: flows ------------------------------------------------------------


async def test_flow_sections(init_integration: MockConfigEntry) -> None:
    """A text section for each flow handler and subentry type, and none for flows that don't exist."""
    strings = _strings()
    handlers = _flow_handlers(init_integration)
    subentry_types = {path[1] for path in handlers if path[0] == "config_subentries"}
    assert _gaps(subentry_types, strings.get("config_subentries", {})) == NO_GAPS
    assert ("options" in strings) == (("options",) in handlers)
    for path, handler in handlers.items():
        if path[0] == "config_subentries":
            starts = {
                step
                for step in ("user", "reconfigure")
                if getattr(handler, f"async_step_{step}", None) is not None
            }
            assert set(_section(strings, path)["initiate_flow"]) == starts


async def test_flow_steps_and_fields(
    init_integration: MockConfigEntry, shown: dict[tuple[str, ...], list[dict[str, Any]]]
) -> None:
    """Every step shown has its title, fields (with descriptions), sections, menu options and
    placeholders in en.json, and en.json has no other; every step in the code was shown."""
    strings, code = _strings(), _code()
    gaps: dict[str, Gaps] = {}
    for path, handler in _flow_handlers(init_integration).items():
        name = ".".join(path)
        texts = _section(strings, path).get("step", {})
        forms = _forms(shown.get(path, []))
        gaps[f"{name}.step"] = _gaps(forms, texts)
        gaps[f"{name}: steps in the code, not shown"] = _not_in(
            code.flow_keys(handler).steps, set(forms)
        )
        for step_id, form in forms.items():
            text, where = texts.get(step_id, {}), f"{name}.step.{step_id}"
            gaps[f"{where}.data"] = _gaps(form.fields, text.get("data", {}))
            gaps[f"{where}.data_description"] = _gaps(form.fields, text.get("data_description", {}))
            gaps[f"{where}.sections"] = _gaps(form.sections, text.get("sections", {}))
            for section_id, fields in form.sections.items():
                section_text = text.get("sections", {}).get(section_id, {})
                for part in ("data", "data_description"):
                    gaps[f"{where}.sections.{section_id}.{part}"] = _gaps(
                        fields, section_text.get(part, {})
                    )
            gaps[f"{where}.menu_options"] = _gaps(form.menu, text.get("menu_options", {}))
            shown_placeholders = {
                p for key in ("title", "description") for p in _placeholders(text.get(key, ""))
            }
            gaps[f"{where}: placeholders not provided"] = _not_in(
                shown_placeholders, (form.placeholders or set())
            )
    assert _problems(gaps) == {}


async def test_flow_errors_and_aborts(
    init_integration: MockConfigEntry, shown: dict[tuple[str, ...], list[dict[str, Any]]]
) -> None:
    """Every error and abort reason a flow's code can produce has its own text, and every text
    is one of them. Home Assistant's default reasons (`already_in_progress`,
    `reauth_successful`, …) count too: users saw them as raw keys."""
    strings, code = _strings(), _code()
    gaps: dict[str, Gaps] = {}
    for path, handler in _flow_handlers(init_integration).items():
        name, keys = ".".join(path), code.flow_keys(handler)
        texts = _section(strings, path)
        gaps[f"{name}.error"] = _gaps(keys.errors, texts.get("error", {}))
        gaps[f"{name}.abort"] = _gaps(keys.aborts, texts.get("abort", {}))
        seen = {r["reason"] for r in shown.get(path, []) if r["type"] is FlowResultType.ABORT}
        gaps[f"{name}: aborts shown, not found in the code"] = _not_in(seen, keys.aborts)
    assert _problems(gaps) == {}


def test_home_assistant_abort_reasons() -> None:
    """HA_ABORTS and UPDATE_ABORTS still say what the installed Home Assistant does."""
    for method, (keyword, reasons) in HA_ABORTS.items():
        function = getattr(ConfigFlow, method)
        if keyword is not None:
            default = inspect.signature(function).parameters[keyword].default
            assert {default} - {inspect.Parameter.empty} == reasons, method
        else:
            source = inspect.getsource(function)
            assert all(f'"{reason}"' in source for reason in reasons), method
    assert inspect.signature(ConfigFlow.async_set_unique_id).parameters["raise_on_progress"].default
    for method in UPDATE_ABORTS:
        assert '"reauth_successful"' in inspect.getsource(getattr(ConfigFlow, method))
        assert '"reconfigure_successful"' in inspect.getsource(getattr(ConfigFlow, method))
        assert '"reconfigure_successful"' in inspect.getsource(getattr(ConfigSubentryFlow, method))
    unique = inspect.getsource(ConfigEntries._raise_if_subentry_unique_id_exists)
    assert '"already_configured"' in unique


# --- translations/en.json: entities, exceptions, issues, selectors --------------------------


def _named_states(entity: Entity) -> list[str]:
    """The states an entity takes by key, each translated: a select's options, an enum
    sensor's."""
    if isinstance(entity, SelectEntity):
        return entity.options
    if isinstance(entity, SensorEntity) and entity.device_class == SensorDeviceClass.ENUM:
        return entity.options or []
    return []


async def test_entity_translations(
    hass: HomeAssistant, entities: dict[tuple[str, str], list[Entity]]
) -> None:
    """Each entity's name, select and enum sensor options and state attributes have text, and
    no other text is there; Home Assistant names the entities with it. Vonage's options come
    from the account and stay untranslated, so only the fixed options are checked."""
    strings = _strings().get("entity", {})
    texts = {(platform, key) for platform, keys in strings.items() for key in keys}
    assert None not in {key for _, key in entities}, "an entity without translation_key"
    gaps = {"entity": _gaps(entities, texts)}
    gaps["entity: in the code, not running"] = _not_in(_code().used().entities, set(entities))
    for (platform, key), group in entities.items():
        text, where = strings.get(platform, {}).get(key, {}), f"entity.{platform}.{key}"
        options = {o for e in group for o in _named_states(e)}
        gaps[f"{where}.state"] = _gaps(options, text.get("state", {}))
        attributes = {a for e in group for a in e.extra_state_attributes or {}}
        gaps[f"{where}.state_attributes"] = _gaps(attributes, text.get("state_attributes", {}))
        for entity in group:
            state = hass.states.get(str(entity.entity_id))
            assert state is not None
            device = (entity.device_info or {}).get("name")
            assert state.name == f"{device} {text.get('name')}", entity.entity_id
    assert _problems(gaps) == {}


def test_exception_translations() -> None:
    """Every `translation_key` given to one of our Home Assistant errors has a message, every
    message is used, and a message shows only the placeholders its raise passes."""
    used, messages = _code().used(), _strings().get("exceptions", {})
    assert _gaps(used.exceptions, messages) == NO_GAPS
    unfilled = {
        f"{where} {key}": missing
        for key, given, where in used.exception_placeholders
        if (missing := _placeholders(messages.get(key, {}).get("message", "")) - given)
    }
    assert unfilled == {}


def _subclasses(cls: type) -> list[type]:
    """A class and all its subclasses."""
    return [cls, *(sub for direct in cls.__subclasses__() for sub in _subclasses(direct))]


def _instance(error_class: type[PresenceBridgeError]) -> PresenceBridgeError:
    """An instance of a provider error, its required keyword arguments given dummy text."""
    required = {
        name: "x"
        for name, parameter in inspect.signature(error_class).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
        and parameter.default is inspect.Parameter.empty
    }
    return error_class("refused", **required)


def test_provider_errors_fill_their_messages() -> None:
    """Each provider error becomes a translated error with a message and all its placeholders."""
    messages, used = _strings().get("exceptions", {}), _code().used().exceptions
    unfilled = {}
    for error_class in _subclasses(PresenceBridgeError):
        error = translate_error(_instance(error_class))
        assert error.translation_key in used  # the reading of the code saw it
        message = messages.get(error.translation_key, {}).get("message", "{no text}")
        if missing := _placeholders(message) - set(error.translation_placeholders or {}):
            unfilled[error_class.__name__] = missing
    assert unfilled == {}


def test_issue_translations() -> None:
    """Every repair issue's `translation_key` has a title and description; none is unused."""
    assert _gaps(_code().used().issues, _strings().get("issues", {})) == NO_GAPS


async def test_selector_translations(shown: dict[tuple[str, ...], list[dict[str, Any]]]) -> None:
    """Each selector Home Assistant accepts; each translated one has text for every option, and
    en.json translates no other selector or option."""
    options: dict[str, set[str]] = defaultdict(set)
    for results in shown.values():
        for result in results:
            for found in _selectors(result.get("data_schema")):
                selector.validate_selector(found.serialize()["selector"])
                if key := found.config.get("translation_key"):
                    options[key] |= _option_values(found.config["options"])
    for spec in _services_yaml().values():
        for field_spec in _yaml_fields(spec)[0].values():
            for config in field_spec["selector"].values():
                if isinstance(config, dict) and (key := config.get("translation_key")):
                    options[key] |= _option_values(config.get("options", []))
    texts = _strings().get("selector", {})
    gaps = {"selector": _gaps(options, texts)}
    gaps["selector: in the code, not shown"] = _not_in(_code().used().selectors, set(options))
    for key, values in options.items():
        gaps[f"selector.{key}.options"] = _gaps(values, texts.get(key, {}).get("options", {}))
    assert _problems(gaps) == {}


# --- services.yaml --------------------------------------------------------------------------


def _yaml_fields(spec: dict[str, Any] | None) -> tuple[dict[str, Any], set[str]]:
    """A services.yaml action's fields (sections flattened) and its section names."""
    fields, sections = {}, set()
    for name, value in ((spec or {}).get("fields") or {}).items():
        if "fields" in value:
            sections.add(name)
            fields |= value["fields"]
        else:
            fields[name] = value
    return fields, sections


def _schema_dict(validator: Any) -> dict[Any, Any] | None:
    """The first dict schema inside a validator (a Schema, an All of them)."""
    inner = getattr(validator, "schema", None)
    if isinstance(inner, dict):
        return inner
    for candidate in (inner, *getattr(validator, "validators", ())):
        if candidate is not None and (found := _schema_dict(candidate)) is not None:
            return found
    return None


def _schema_fields(schema: Any) -> dict[str, tuple[Any, Any]]:
    """An action's own fields in its registered schema (marker, validator), not the target
    fields Home Assistant adds to every entity action."""
    fields = _schema_dict(schema)
    assert fields is not None, schema
    targets = {str(marker) for marker in cv.ENTITY_SERVICE_FIELDS} | {"metadata"}
    return {str(m): (m, v) for m, v in fields.items() if str(m) not in targets}


def _range(validator: Any) -> tuple[float | None, float | None] | None:
    """The `vol.Range` a field's validator applies, if any."""
    if isinstance(validator, vol.Range):
        return validator.min, validator.max
    for inner in getattr(validator, "validators", ()):
        if (found := _range(inner)) is not None:
            return found
    return None


def test_services_yaml_schema() -> None:
    """services.yaml passes hassfest's rules; each selector Home Assistant validates."""
    SERVICES_SCHEMA(_services_yaml())


async def test_services_yaml_matches_registered_actions(
    hass: HomeAssistant, services: dict[str, Service]
) -> None:
    """services.yaml describes exactly the registered actions: their fields, which are
    required, number ranges, and the entity domain each acts on. Home Assistant loads it."""
    described = _services_yaml()
    loaded = (await async_get_all_descriptions(hass)).get(DOMAIN, {})
    gaps = {"services.yaml": _gaps(services, described), "as loaded": _gaps(services, loaded)}
    entity_domains = _code().entity_service_domains(services)
    wrong = {}
    for name, service in services.items():
        registered = _schema_fields(service.schema)
        fields, _ = _yaml_fields(described.get(name))
        gaps[f"{name}.fields"] = _gaps(registered, fields)
        required = {f for f, (marker, _) in registered.items() if isinstance(marker, vol.Required)}
        gaps[f"{name} required"] = _gaps(
            required, {f for f, s in fields.items() if s.get("required")}
        )
        for field_name, spec in fields.items():
            number = spec["selector"].get("number")
            if number is not None and field_name in registered:
                bounds = _range(registered[field_name][1])
                if bounds != (number.get("min"), number.get("max")):
                    wrong[f"{name}.{field_name} range"] = (bounds, number)
        target = (described.get(name) or {}).get("target", {}).get("entity", {})
        target_domains = target.get("domain", [])
        target_domains = (
            {target_domains} if isinstance(target_domains, str) else set(target_domains)
        )
        if target.get("integration") != DOMAIN or target_domains != entity_domains.get(name):
            wrong[f"{name} target"] = (target, entity_domains.get(name))
    assert (_problems(gaps), wrong) == ({}, {})


async def test_service_translations(services: dict[str, Service]) -> None:
    """en.json names and describes every action, field and section, and nothing else."""
    texts, described = _strings().get("services", {}), _services_yaml()
    gaps = {"services": _gaps(services, texts)}
    for name in services:
        fields, sections = _yaml_fields(described.get(name))
        gaps[f"{name}.fields"] = _gaps(fields, texts.get(name, {}).get("fields", {}))
        gaps[f"{name}.sections"] = _gaps(sections, texts.get(name, {}).get("sections", {}))
    assert _problems(gaps) == {}


# --- icons.json -----------------------------------------------------------------------------


async def test_icons(hass: HomeAssistant, entities: dict[tuple[str, str], list[Entity]]) -> None:
    """icons.json passes hassfest's schema (mdi: icons only), names only entities, options,
    attributes and actions that exist, and, the Gold rule, gives each entity, translated option
    and action an icon. Home Assistant loads it."""
    icons = ICONS_SCHEMA(_json("icons.json"))
    entity_icons = icons.get("entity", {})
    texts = _strings().get("entity", {})
    keyed = {(platform, key) for platform, keys in entity_icons.items() for key in keys}
    gaps = {"entity": _gaps(entities, keyed)}
    for (platform, key), group in entities.items():
        spec, where = entity_icons.get(platform, {}).get(key, {}), f"entity.{platform}.{key}"
        options = {o for e in group for o in _named_states(e)}
        translated = options & set(texts.get(platform, {}).get(key, {}).get("state", {}))
        gaps[f"{where}.state"] = _gaps(translated, spec.get("state", {}))
        attributes = {a for e in group for a in e.extra_state_attributes or {}}
        gaps[f"{where}.state_attributes: icons of no attribute"] = _not_in(
            spec.get("state_attributes", {}), attributes
        )
    registered = hass.services.async_services_for_domain(DOMAIN)
    gaps["services"] = _gaps(registered, icons.get("services", {}))
    assert _problems(gaps) == {}
    loaded = await async_get_icons(hass, "services", [DOMAIN])
    assert loaded[DOMAIN] == {
        name: convert_shorthand_service_icon(value) for name, value in icons["services"].items()
    }


# --- The reading of the source itself -------------------------------------------------------


def test_keys_are_followed_through_call_sites(tmp_path: Path) -> None:
    """A key passed through a parameter (or a closure, or a registrar of ours) is found at each
    call; a key computed in a way the reading cannot follow fails loudly."""
    followed = (
        "def refuse(key, extra=None):\n"
        "    raise E(translation_domain=DOMAIN, translation_key=extra or key)\n"
        "def a():\n    refuse('first')\n"
        "def b():\n    refuse(f'ignored_{1}', extra=SECOND)\n"
        "def register(hass, name, *, entity_domain, key):\n"
        "    def handle():\n"
        "        raise E(translation_domain=DOMAIN, translation_key=key)\n"
        "def setup(hass):\n    register(hass, 'act', entity_domain='text', key='third')\n"
    )
    computed = "def c():\n    raise E(translation_domain=DOMAIN, translation_key=KEYS[0])\n"
    path = tmp_path / "select.py"
    namespace = {"DOMAIN": DOMAIN, "SECOND": "second"}
    path.write_text(followed)
    code = Code([SourceModule(path, namespace, "select")])
    assert code.used().exceptions == {"first", "second", "third"}
    assert code.entity_service_domains(["act"]) == {"act": {"text"}}
    path.write_text(followed + computed)
    code = Code([SourceModule(path, namespace, "select")])
    with pytest.raises(UnresolvedError, match=r"select\.py:13: KEYS\[0\]"):
        code.used()
