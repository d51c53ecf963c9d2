"""No setting that does nothing (issue #14, case 9: ``HOLD_TTL_SECONDS`` and
``MAX_SEATS_PER_ORDER`` were documented but never read).

1. Every environment variable that the settings docstring, README's settings line or the
   environment of docs/deploy.md names is read: by ticketing/settings.py (``env…("NAME"``) or by
   the Procfile's command line.
2. Every project setting that ticketing/settings.py defines (not Django's own, not a library's)
   is read by the code: outside settings.py, or inside it to derive another setting.

What each setting does is tested where it acts (e.g. seats/tests/test_settings_defaults.py).
"""

import re
from pathlib import Path

from django.conf import global_settings

from ticketing import settings as project_settings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = (ROOT / "ticketing" / "settings.py").read_text()
# Settings that Django (without a default in global_settings) or a library installed in
# INSTALLED_APPS/MIDDLEWARE reads, or a helper of the module.
LIBRARY = {
    "ROOT_URLCONF",
    "ASGI_APPLICATION",
    "CHANNEL_LAYERS",
    "REST_FRAMEWORK",
    "SPECTACULAR_SETTINGS",
    "SIMPLE_JWT",
    "DJANGO_GUID",
    "WHITENOISE_USE_FINDERS",
    "RATELIMIT_ENABLE",
    "RATELIMIT_FAIL_OPEN",
    "RATELIMIT_IP_META_KEY",
    "DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS",
    "BASE_DIR",
}


def _documented() -> set[str]:
    """The environment variables the docs name (``EMAIL_*`` and ``RATELIMIT_A|B`` expanded
    against what settings.py reads)."""
    names = set(re.findall(r"``([A-Z][A-Z0-9_]+)``", project_settings.__doc__)) - {"IMMEDIATE"}
    readme = (ROOT / "README.md").read_text()
    line = readme[readme.index("Settings (environment):") :]
    line = line[: line.index("ticketing/settings.py")]
    for token in re.findall(r"`([A-Z][A-Z0-9_|*]+)`", line):
        first, *alternatives = token.split("|")
        stem = first.rsplit("_", 1)[0] + "_" if alternatives else ""
        names |= {first, *(stem + a for a in alternatives)}
    deploy = (ROOT / "docs" / "deploy.md").read_text()
    block = deploy[deploy.index("## Environment") :]
    block = block[block.index("```") + 3 :]
    names |= set(re.findall(r"(?:^|\s)([A-Z][A-Z0-9_]+)=", block[: block.index("```")]))
    read = _read_from_environment()
    for pattern in [n for n in names if n.endswith("*")]:
        names.remove(pattern)
        matches = {r for r in read if r.startswith(pattern[:-1])}
        assert matches, f"{pattern}: no such setting is read"
        names |= matches
    return names


def _read_from_environment() -> set[str]:
    return set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]+)\"", SETTINGS))


def test_every_documented_environment_variable_is_read():
    procfile = (ROOT / "Procfile").read_text()
    documented = _documented()
    assert {"HOLD_TTL_SECONDS", "MAX_SEATS_PER_ORDER", "MAX_PENDING_ORDERS_PER_BUYER"} <= documented
    unread = sorted(
        n
        for n in documented
        if n not in _read_from_environment()
        and f"${{{n}" not in procfile
        and f"${n}" not in procfile
    )
    assert not unread, f"documented but never read: {unread}"


def test_every_project_setting_is_read_by_the_code():
    code = {
        path: path.read_text()
        for app in ("core", "ticketing", "seats", "orders", "realtime")
        for path in (ROOT / app).rglob("*.py")
        if "tests" not in path.parts and path.name != "settings.py"
    }
    body = SETTINGS[SETTINGS.index('"""', 3) + 3 :]  # settings.py without its docstring
    defined = {name for name in dir(project_settings) if name.isupper()}
    project = defined - set(dir(global_settings)) - LIBRARY
    unread = []
    for name in sorted(project):
        elsewhere = any(
            re.search(rf"settings\.{name}\b|\"{name}\"", text) for text in code.values()
        )
        uses_in_settings = list(re.finditer(rf"(?<![\"\w]){name}\b(?!\s*=[^=])", body))
        if not elsewhere and not uses_in_settings:
            unread.append(name)
    assert not unread, f"defined in ticketing/settings.py but never read: {unread}"
