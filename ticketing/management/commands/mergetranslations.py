"""``manage.py mergetranslations``: write the translations of the fragments
(``locale/<lang>/fragments/{django,djangojs}-*.po``, one file per area of the project) into the
catalogs (``locale/<lang>/LC_MESSAGES/{django,djangojs}.po``) and drop their ``fuzzy`` marks.
``./dev messages`` runs it after ``makemessages``. The fragments are where translations are
written: people working on separate areas each edit their own file, so their work merges
without conflicts, and the catalogs are regenerated from the code and the fragments. An entry is
matched by its context and msgid; the first fragment (by file name) that translates it wins."""

from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po, write_po
from django.conf import settings
from django.core.management.base import BaseCommand


def merge(root: Path) -> dict[str, int]:
    """Write the fragments' translations into the catalogs under ``root`` (one ``<lang>``
    directory each); return the entries changed per catalog file name."""
    filled: dict[str, int] = {}
    for po in sorted(root.glob("*/LC_MESSAGES/*.po")):
        language = po.parts[-3]
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        # (msgctxt, msgid) → msgstr; msgid is a str, or a tuple with plurals
        known: dict[tuple[Any, Any], Any] = {}
        for fragment in sorted((root / language / "fragments").glob(f"{po.stem}-*.po")):
            with fragment.open("rb") as handle:
                for message in read_po(handle, locale=language):
                    key = (message.context, message.id)
                    if message.id and message.string and key not in known:
                        known[key] = message.string
        n = 0
        for message in catalog:
            if not message.id:
                continue
            empty = not message.string or (
                isinstance(message.string, tuple) and not all(message.string)
            )
            key = (message.context, message.id)
            if key in known:  # the fragments are the translations' source: they win
                if empty or message.string != known[key]:
                    n += 1
                message.string = known[key]
                message.flags.discard("fuzzy")
        catalog.fuzzy = False
        with po.open("wb") as handle:
            write_po(handle, catalog, width=100, include_previous=False)
        filled[po.name] = n
    return filled


class Command(BaseCommand):
    help = "Write the translations of locale/<lang>/fragments/*.po into the message catalogs."

    def handle(self, *args, **options):
        for root in settings.LOCALE_PATHS:
            for name, n in merge(Path(root)).items():
                self.stdout.write(f"mergetranslations: {name}: {n} entries filled")
