"""Django's own strings on the sign-in and sign-up pages that Django's Thai catalog leaves
untranslated (or translates poorly), marked here so that ``makemessages`` copies them into the
project's catalog, whose translations win over Django's (``LOCALE_PATHS``; issue #17,
docs/i18n.md). The text of each must stay exactly Django's: ``django.contrib.auth`` (forms,
``models.User.username``, ``validators``, ``password_validation``, the validators of
``AUTH_PASSWORD_VALIDATORS``). Nothing imports this module: it is read by ``makemessages`` only;
``ticketing/tests/test_auth_pages_th.py`` checks that the pages show the translations."""

from django.utils.translation import gettext_noop, ngettext_lazy

STRINGS = (
    # contrib.auth.forms
    gettext_noop(
        "Please enter a correct %(username)s and password. Note that both fields may be "
        "case-sensitive."
    ),
    gettext_noop("The two password fields didn’t match."),
    gettext_noop("Enter the same password as before, for verification."),
    # contrib.auth.models.User.username, contrib.auth.validators
    gettext_noop("Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only."),
    gettext_noop(
        "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ "
        "characters."
    ),
    # contrib.auth.password_validation (the validators of AUTH_PASSWORD_VALIDATORS)
    gettext_noop("The password is too similar to the %(verbose_name)s."),
    gettext_noop("Your password can’t be too similar to your other personal information."),
    gettext_noop("This password is too common."),
    gettext_noop("Your password can’t be a commonly used password."),
    gettext_noop("This password is entirely numeric."),
    gettext_noop("Your password can’t be entirely numeric."),
    ngettext_lazy(
        "This password is too short. It must contain at least %d character.",
        "This password is too short. It must contain at least %d characters.",
        "min_length",
    ),
    ngettext_lazy(
        "Your password must contain at least %(min_length)d character.",
        "Your password must contain at least %(min_length)d characters.",
        "min_length",
    ),
)
