"""``manage.py compiletranslations``: compile the message catalogs (``locale/*/LC_MESSAGES/*.po``
→ ``.mo``) with Babel, in pure Python, so neither the README's two commands nor a deployment need
GNU gettext. A catalog whose ``.mo`` is newer than its ``.po`` is left alone. (``makemessages``,
which extracts the strings, does need GNU gettext: ``./dev messages``, run in CI.)"""

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management.base import BaseCommand


def compile_catalogs(roots: list[Path]) -> list[Path]:
    """Compile every ``.po`` under ``roots`` whose ``.mo`` is missing or older; return the
    ``.mo`` files written. Fuzzy entries are left out, as ``msgfmt`` does."""
    written = []
    for root in roots:
        for po in sorted(Path(root).glob("*/LC_MESSAGES/*.po")):
            mo = po.with_suffix(".mo")
            if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
                continue
            with po.open("rb") as source:
                catalog = read_po(source, locale=po.parts[-3])
            with mo.open("wb") as target:
                write_mo(target, catalog, use_fuzzy=False)
            written.append(mo)
    return written


class Command(BaseCommand):
    help = "Compile the message catalogs of LOCALE_PATHS (.po to .mo) with Babel."

    def handle(self, *args, **options):
        written = compile_catalogs([Path(p) for p in settings.LOCALE_PATHS])
        self.stdout.write(f"compiletranslations: {len(written)} catalogs compiled")
