"""The repository passes the checks of the Marketplace (Home Assistant 2026.11+) and of HACS 2.x.

From Home Assistant 2026.11 on, the built-in Marketplace (`homeassistant.components.marketplace`)
installs Presence Bridge; on 2026.10.x, HACS 2.x does. Both read `hacs.json` and the integration's
`manifest.json`, and install `custom_components/presence_bridge` from the repository on GitHub.

Where the installed Home Assistant ships a Marketplace rule (the `hacs.json` keys it reads, its
manifest checks, how it finds the integration in the repository tree and extracts it from the
archive), the tests run that code. On 2026.10.x, which has no Marketplace, they run the project's
own copy of the rule below, and on 2026.11+ `test_copies_match_the_marketplace` fails when a copy
no longer matches the shipped rule. HACS is not part of Home Assistant, so its rules are always the
project's copy of `custom_components/hacs/utils/validate.py` (HACS 2.x).

Marketplace names are imported with `importlib` (the package is absent on 2026.10, and
`tests/test_imports.py` imports every `from homeassistant… import` it finds), each from the module
that defines it, which `_marketplace` checks like `tests/test_imports.py` does.
"""

from collections.abc import Callable
import importlib
import io
import json
from pathlib import Path
import re
import shutil
import struct
import subprocess
from types import ModuleType, SimpleNamespace
from typing import Any
import zipfile

from awesomeversion import AwesomeVersion, AwesomeVersionException, AwesomeVersionStrategy
from homeassistant import components
from homeassistant.components.brands.const import ALLOWED_IMAGES
from homeassistant.const import __version__ as HA_VERSION
from homeassistant.core import HomeAssistant, valid_domain
from homeassistant.helpers import config_validation as cv
from homeassistant.loader import BLOCKED_CUSTOM_INTEGRATIONS
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
import voluptuous as vol

from custom_components.presence_bridge.const import DOMAIN

from .test_imports import _top_level_definitions

ROOT = Path(__file__).parent.parent
INTEGRATION = ROOT / "custom_components" / DOMAIN
FULL_NAME = "presence-bridge/presence-bridge"
"""The repository on GitHub (`documentation` in manifest.json)."""


def _marketplace(module: str, name: str) -> Any:
    """`name` from `homeassistant.components.marketplace.<module>`; None without a Marketplace."""
    package = "homeassistant.components.marketplace"
    try:
        loaded: ModuleType = importlib.import_module(f"{package}.{module}")
    except ModuleNotFoundError as err:
        if err.name is not None and (package == err.name or package.startswith(f"{err.name}.")):
            return None  # Home Assistant 2026.10.x
        raise
    assert name in _top_level_definitions(loaded), f"{name} is not defined in {loaded.__name__}"
    return getattr(loaded, name)


HAS_MARKETPLACE = _marketplace("const", "DOMAIN") is not None

# --- HACS 2.x: custom_components/hacs/utils/validate.py --------------------------------------

HACS_JSON_SCHEMA = vol.Schema(
    {
        vol.Optional("content_in_root"): bool,
        vol.Optional("country"): vol.Any(str, [str]),
        vol.Optional("filename"): str,
        vol.Optional("hacs"): vol.Coerce(AwesomeVersion),
        vol.Optional("hide_default_branch"): bool,
        vol.Optional("homeassistant"): vol.Coerce(AwesomeVersion),
        vol.Optional("persistent_directory"): str,
        vol.Optional("render_readme"): bool,
        vol.Optional("zip_release"): bool,
        vol.Required("name"): str,
    },
    extra=vol.PREVENT_EXTRA,
)
"""`HACS_MANIFEST_JSON_SCHEMA`: a closed schema, an unknown key fails validation."""

HACS_INTEGRATION_MANIFEST_SCHEMA = vol.Schema(
    {
        vol.Required("codeowners"): list,
        vol.Required("documentation"): cv.url,
        vol.Required("domain"): str,
        vol.Required("issue_tracker"): cv.url,
        vol.Required("name"): str,
        vol.Required("version"): vol.Coerce(AwesomeVersion),
    },
    extra=vol.ALLOW_EXTRA,
)
"""`INTEGRATION_MANIFEST_JSON_SCHEMA`."""

# --- The Marketplace (2026.11.0); each copy names the file and line of the original ----------


def _valid_version(value: Any) -> str:
    """`utils/validate.py:53` `valid_version`."""
    if not isinstance(value, str) or not AwesomeVersion(value).valid:
        raise vol.Invalid(f"'{value}' is not a version")
    return value


MARKETPLACE_HACS_JSON_VALUES: dict[str, Callable[[Any], Any]] = {
    "content_in_root": vol.Schema(bool),
    "filename": vol.Schema(str),
    "hacs": vol.Schema(str),
    "hide_default_branch": vol.Schema(bool),
    "homeassistant": vol.Schema(_valid_version),
    "name": vol.Schema(str),
    "persistent_directory": vol.Schema(str),
    "zip_release": vol.Schema(bool),
}
"""`utils/validate.py:61` `REPOSITORY_MANIFEST_VALUES`: every other key is ignored
(`repositories/base.py:404`), a value of another type is ignored with a warning (`:406`)."""

MARKETPLACE_MANIFEST_VALUES: dict[str, Callable[[Any], Any]] = {
    "codeowners": vol.Schema([str]),
    "config_flow": vol.Schema(bool),
    "name": vol.Schema(str),
}
"""`utils/validate.py:75` `INTEGRATION_MANIFEST_VALUES`, read besides the domain."""

MARKETPLACE_VALID_DOMAIN = re.compile(r"^[a-z0-9_-]+$")
"""`utils/validate.py:30` `VALID_DOMAIN`."""

MARKETPLACE_README_FILENAMES = (
    "README.md",
    "readme.md",
    "readme.MD",
    "README.MD",
    "README",
    "readme",
)
"""`repositories/base.py:79` `README_FILENAMES`, tried in this order for the repository page."""

MARKETPLACE_LOADABLE_VERSION_STRATEGIES = [
    AwesomeVersionStrategy.CALVER,
    AwesomeVersionStrategy.SEMVER,
    AwesomeVersionStrategy.SIMPLEVER,
    AwesomeVersionStrategy.BUILDVER,
    AwesomeVersionStrategy.PEP440,
]
"""`repositories/integration.py:76`: the installed manifest.json must have such a version."""


def _shipped_or_copy(module: str, name: str, copy: Any) -> Any:
    """The Marketplace's own rule where Home Assistant ships it, else the project's copy."""
    shipped = _marketplace(module, name)
    return copy if shipped is None else shipped


# --- The repository as GitHub has it ---------------------------------------------------------


def _read_json(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _repository_files() -> list[str]:
    """The files a push would put on GitHub: tracked or not ignored, and present."""
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("needs the git checkout to tell the repository's files")
    listed = subprocess.run(  # noqa: S603
        [git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sorted({path for path in listed.split("\0") if path and (ROOT / path).is_file()})


def _tree(files: list[str]) -> dict[str, str]:
    """Path to "tree" or "blob", as in GitHub's recursive repository tree, sorted by path."""
    directories = {
        "/".join(path.split("/")[:depth])
        for path in files
        for depth in range(1, path.count("/") + 1)
    }
    return dict(
        sorted({**dict.fromkeys(files, "blob"), **dict.fromkeys(directories, "tree")}.items())
    )


def _marketplace_stub(config_path: Path, version: str = HA_VERSION) -> SimpleNamespace:
    """What a repository object reads of the Marketplace without going to GitHub."""
    return SimpleNamespace(
        core=SimpleNamespace(config_path=str(config_path)),
        configuration=SimpleNamespace(plugin_path="www/community/", theme_path="themes/"),
        version=AwesomeVersion(version),
    )


def _repository(category: str, tree: dict[str, str], config_path: Path, **stub: str) -> Any:
    """A Marketplace repository object of a category that sees this tree and hacs.json."""
    repository = _marketplace("repositories", "REPOSITORY_CLASSES")[category](
        _marketplace_stub(config_path, **stub), FULL_NAME
    )
    # The tree entries of aiogithubapi, the GitHub client the Marketplace requires
    tree_entry = importlib.import_module("aiogithubapi.models.git_tree").GitHubGitTreeEntryModel
    repository.tree = [tree_entry({"path": path, "type": kind}) for path, kind in tree.items()]
    repository.treefiles = list(tree)
    repository.repository_manifest = _marketplace(
        "repositories.base", "RepositoryManifest"
    ).from_dict(_read_json(ROOT / "hacs.json"))
    repository.data.category = category
    return repository


# --- hacs.json -------------------------------------------------------------------------------


def test_hacs_json_has_only_keys_both_read() -> None:
    """HACS 2.x accepts hacs.json, and the Marketplace reads every key in it (none is ignored).

    HACS refuses a key outside its closed schema; the Marketplace silently ignores a key it does
    not know (`render_readme`, `country`) and a value of the wrong type.
    """
    hacs_json = _read_json(ROOT / "hacs.json")
    HACS_JSON_SCHEMA(hacs_json)

    values = _shipped_or_copy(
        "utils.validate", "REPOSITORY_MANIFEST_VALUES", MARKETPLACE_HACS_JSON_VALUES
    )
    assert sorted(hacs_json.keys() - values.keys()) == []
    for key, value in hacs_json.items():
        values[key](value)

    if HAS_MARKETPLACE:
        read = _marketplace("repositories.base", "RepositoryManifest").from_dict(hacs_json)
        assert read.manifest == hacs_json
        assert read.name == hacs_json["name"]


def test_hacs_json_keys_the_project_does_not_use() -> None:
    """The content stays in custom_components/<domain>, downloaded from the repository itself.

    `content_in_root` would make the Marketplace take the whole repository as the integration
    (`repositories/integration.py:283`). `zip_release` needs a `filename` for HACS, and the
    Marketplace uses a release asset only for a `filename` ending in `.zip`
    (`repositories/base.py:608`).
    """
    hacs_json = _read_json(ROOT / "hacs.json")
    assert not hacs_json.get("content_in_root")
    if hacs_json.get("zip_release"):
        assert str(hacs_json.get("filename", "")).endswith(".zip")


def test_minimum_home_assistant_version(tmp_path: Path) -> None:
    """The running Home Assistant meets `homeassistant` in hacs.json, an older one is refused.

    The Marketplace refuses to install a version whose hacs.json needs a newer Home Assistant
    (`repositories/base.py:2043`), and marks the repository not installable (`:587`).
    """
    minimum = _read_json(ROOT / "hacs.json")["homeassistant"]
    assert AwesomeVersion(minimum).valid
    older = "2025.1.0"
    assert AwesomeVersion(older) < AwesomeVersion(minimum)

    if not HAS_MARKETPLACE:
        assert AwesomeVersion(HA_VERSION) >= AwesomeVersion(minimum)
        return

    error = _marketplace("exceptions", "MarketplaceError")
    tree = _tree(_repository_files())
    current = _repository("integration", tree, tmp_path)
    current.data.releases = True
    current._check_minimum_version(current.repository_manifest)
    assert current.can_install

    outdated = _repository("integration", tree, tmp_path, version=older)
    outdated.data.releases = True
    with pytest.raises(error) as raised:
        outdated._check_minimum_version(outdated.repository_manifest)
    assert raised.value.translation_key == "requires_newer_home_assistant"
    assert not outdated.can_install


# --- Layout ----------------------------------------------------------------------------------


def test_repository_layout(tmp_path: Path) -> None:
    """hacs.json, README.md and LICENSE in the root, and one integration: custom_components/<domain>.

    The Marketplace installs the first directory below custom_components
    (`repositories/integration.py:312`), so there is exactly one, named after the domain; hassfest
    checks every manifest.json it finds, so there is exactly one. HACS checks the licence.
    """
    files = _repository_files()
    tree = _tree(files)
    assert {"hacs.json", "LICENSE"} <= set(files)
    readme_names = _shipped_or_copy(
        "repositories.base", "README_FILENAMES", MARKETPLACE_README_FILENAMES
    )
    assert [name for name in readme_names if name in files] == ["README.md"]

    integrations = [
        path
        for path, kind in tree.items()
        if kind == "tree" and path.count("/") == 1 and path.startswith("custom_components/")
    ]
    assert integrations == [f"custom_components/{DOMAIN}"]
    assert [path for path in files if path.rsplit("/", 1)[-1] == "manifest.json"] == [
        f"custom_components/{DOMAIN}/manifest.json"
    ]

    if HAS_MARKETPLACE:
        repository = _repository("integration", tree, tmp_path)
        repository.resolve_content()
        assert repository.content.path.remote == f"custom_components/{DOMAIN}"
        assert repository.try_resolve_content()


def test_added_as_an_integration_only(tmp_path: Path) -> None:
    """Adding the repository by its URL finds an integration and no other category.

    Same loop as the Marketplace's detection (`base.py:808`), on this repository's tree.
    """
    if not HAS_MARKETPLACE:
        pytest.skip(f"Home Assistant {HA_VERSION} has no Marketplace to detect categories")
    tree = _tree(_repository_files())
    found = [
        category
        for category in _marketplace("repositories", "REPOSITORY_CLASSES")
        if _repository(str(category), tree, tmp_path).try_resolve_content()
    ]
    assert found == ["integration"]


def test_archive_install(tmp_path: Path) -> None:
    """What the Marketplace extracts from GitHub's archive of a version is the whole integration.

    GitHub's archive puts everything below one top-level directory and leaves out files marked
    `export-ignore` (`repositories/base.py:210`, `:2214`). The installed manifest.json must name
    the domain and carry a version the loader accepts (`repositories/integration.py:97`).
    """
    files = _repository_files()
    ignored = (
        subprocess.run(  # noqa: S603
            [shutil.which("git") or "git", "check-attr", "-z", "export-ignore", "--stdin"],
            cwd=ROOT,
            input="\0".join(files).encode(),
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    assert [
        path
        for path, value in zip(ignored[0::3], ignored[2::3], strict=False)
        if value not in ("unspecified", "unset")
    ] == []

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as github_zip:
        for path in files:
            github_zip.write(ROOT / path, f"presence-bridge-0.1.0/{path}")
    remote = f"custom_components/{DOMAIN}"
    installed = tmp_path / "config" / "custom_components" / DOMAIN

    repository_archive = _marketplace("repositories.base", "RepositoryArchive")
    if repository_archive is None:
        # The project's copy: strip the top-level directory, keep what is below the content
        with zipfile.ZipFile(buffer) as github_zip:
            for member in github_zip.infolist():
                path = member.filename.split("/", 1)[1]
                if path.startswith(f"{remote}/"):
                    target = installed / path.removeprefix(f"{remote}/")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(github_zip.read(member))
    else:
        archive = repository_archive(buffer.getvalue())
        repository = _repository("integration", {}, tmp_path / "config")
        repository.tree = archive.tree
        repository.treefiles = [entry.path for entry in archive.tree]
        repository.resolve_archive_content()
        assert repository.content.path.remote == remote
        repository._use_integration_manifest(json.loads(archive.read(f"{remote}/manifest.json")))
        assert repository.validate.errors == []
        assert repository.localpath == str(installed)
        archive.extract_directory(remote, str(installed))

    assert sorted(
        path.relative_to(installed).as_posix() for path in installed.rglob("*") if path.is_file()
    ) == [path.removeprefix(f"{remote}/") for path in files if path.startswith(f"{remote}/")]

    check_loadable = _marketplace("repositories.integration", "_check_loadable_manifest")
    if check_loadable is not None:
        check_loadable(installed, DOMAIN)
    manifest = _read_json(installed / "manifest.json")
    assert manifest["domain"] == DOMAIN
    strategies = _shipped_or_copy(
        "repositories.integration",
        "LOADABLE_VERSION_STRATEGIES",
        MARKETPLACE_LOADABLE_VERSION_STRATEGIES,
    )
    try:
        AwesomeVersion(manifest["version"], ensure_strategy=strategies)
    except AwesomeVersionException:
        pytest.fail(f"the loader refuses version {manifest['version']!r}")


# --- manifest.json ---------------------------------------------------------------------------


def test_manifest_json(tmp_path: Path) -> None:
    """HACS accepts manifest.json, and the Marketplace reads its domain, name, owners, config flow.

    The Marketplace needs a `domain` (`repositories/integration.py:353`) that is a slug
    (`:45`); a `codeowners`, `config_flow` or `name` of the wrong type is ignored (`:61`). The
    brand images are served only for a domain Home Assistant accepts (`core.valid_domain`).
    """
    manifest = _read_json(INTEGRATION / "manifest.json")
    HACS_INTEGRATION_MANIFEST_SCHEMA(manifest)
    assert manifest["domain"] == DOMAIN == INTEGRATION.name
    assert valid_domain(DOMAIN)
    assert _shipped_or_copy("utils.validate", "VALID_DOMAIN", MARKETPLACE_VALID_DOMAIN).match(
        DOMAIN
    )
    values = _shipped_or_copy(
        "utils.validate", "INTEGRATION_MANIFEST_VALUES", MARKETPLACE_MANIFEST_VALUES
    )
    for key, validate in values.items():
        validate(manifest[key])
    # The Marketplace shows hacs.json's name, and manifest.json's where hacs.json has none
    assert manifest["name"] == _read_json(ROOT / "hacs.json")["name"]

    if HAS_MARKETPLACE:
        repository = _repository("integration", _tree(_repository_files()), tmp_path)
        repository._use_integration_manifest(manifest)
        assert repository.validate.errors == []
        assert repository.data.domain == DOMAIN
        assert repository.data.manifest_name == manifest["name"]
        assert repository.data.authors == manifest["codeowners"]
        assert repository.data.config_flow is manifest["config_flow"] is True


def test_domain_is_free() -> None:
    """The domain is no built-in integration and no custom integration Home Assistant blocks.

    Replacing a built-in integration needs a confirmation in the Marketplace
    (`repositories/integration.py:233`); the loader skips a blocked custom integration.
    """
    assert not (Path(components.__file__).parent / DOMAIN / "manifest.json").exists()
    assert DOMAIN not in BLOCKED_CUSTOM_INTEGRATIONS


# --- README and brand ------------------------------------------------------------------------


def test_readme() -> None:
    """The repository page shows README.md: no inline SVG, and the same minimum Home Assistant.

    The Marketplace always renders the README (it ignores `render_readme`) and disables `<svg`
    elements (`repositories/base.py:1935`).
    """
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "<svg" not in readme.lower()
    requirements = readme.split("\n## Requirements\n", 1)[1].split("\n## ", 1)[0]
    assert (
        f"Home Assistant {_read_json(ROOT / 'hacs.json')['homeassistant']} or later" in requirements
    )


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_brand_images() -> None:
    """brand/ holds every image Home Assistant serves, in the sizes of the brands guidelines."""
    brand = INTEGRATION / "brand"
    assert sorted(path.name for path in brand.iterdir()) == sorted(ALLOWED_IMAGES)
    for path in brand.iterdir():
        width, height = _png_size(path)
        scale = 2 if "@2x" in path.name else 1
        if "icon" in path.name:
            assert (width, height) == (256 * scale, 256 * scale), path.name
        else:
            assert 128 * scale <= min(width, height) <= 256 * scale, path.name


async def test_brand_images_are_served(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """Home Assistant serves the integration's own images, such as the update entity's picture.

    The Marketplace's update entity shows `/api/brands/integration/<domain>/icon.png`
    (`update.py:104`), which Home Assistant serves from brand/ before the brands CDN.
    """
    assert await async_setup_component(hass, "brands", {})
    client = await hass_client()
    for image in sorted(ALLOWED_IMAGES):
        response = await client.get(f"/api/brands/integration/{DOMAIN}/{image}")
        assert response.status == 200, image
        assert await response.read() == (INTEGRATION / "brand" / image).read_bytes(), image


# --- The copies ------------------------------------------------------------------------------


def test_copies_match_the_marketplace() -> None:
    """The project's copies of the Marketplace's rules are those of this Home Assistant."""
    if not HAS_MARKETPLACE:
        pytest.skip(f"Home Assistant {HA_VERSION} has no Marketplace to compare with")
    assert sorted(_marketplace("utils.validate", "REPOSITORY_MANIFEST_VALUES")) == sorted(
        MARKETPLACE_HACS_JSON_VALUES
    )
    assert sorted(_marketplace("utils.validate", "INTEGRATION_MANIFEST_VALUES")) == sorted(
        MARKETPLACE_MANIFEST_VALUES
    )
    assert (
        _marketplace("utils.validate", "VALID_DOMAIN").pattern == MARKETPLACE_VALID_DOMAIN.pattern
    )
    assert _marketplace("repositories.base", "README_FILENAMES") == MARKETPLACE_README_FILENAMES
    assert (
        _marketplace("repositories.integration", "LOADABLE_VERSION_STRATEGIES")
        == MARKETPLACE_LOADABLE_VERSION_STRATEGIES
    )
    # The same values pass and fail, for each key the Marketplace reads from hacs.json
    shipped = _marketplace("utils.validate", "REPOSITORY_MANIFEST_VALUES")
    for key, copy in MARKETPLACE_HACS_JSON_VALUES.items():
        for sample in (True, "2026.10.4", "not a version", 1, ["x"], None):
            assert _accepts(shipped[key], sample) == _accepts(copy, sample), (key, sample)


def _accepts(validate: Callable[[Any], Any], value: Any) -> bool:
    try:
        validate(value)
    except vol.Invalid:
        return False
    return True
