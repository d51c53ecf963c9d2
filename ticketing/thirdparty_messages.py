"""Messages of third-party packages that the API answers with, listed so that ``makemessages``
puts them into our catalog (issue #17; docs/i18n.md).

Django looks a message up in ``LOCALE_PATHS`` (``locale/th``) before the packages' own catalogs,
so an entry here translates:

- simplejwt's messages (``rest_framework_simplejwt``, which ships no Thai catalog): the 401
  ``token_invalid`` of ``auth/token/``, ``auth/token/refresh/`` and every request with a bad
  ``Authorization: Bearer`` header;
- what DRF's Thai catalog leaves out or gets wrong among the messages our API can return
  (validation of lists, UUIDs and strings; 405; 406; 415);
- Django's sign-in and sign-up texts and password validators (``AUTH_PASSWORD_VALIDATORS``), which
  Django's Thai catalog leaves untranslated or translates poorly: the sign-in and sign-up pages
  and the 400 of ``auth/register/`` (``ticketing/tests/test_auth_pages_th.py``).

The texts are the packages' own msgids, copied exactly (placeholders included): a package update
that changes one shows here as an English message in a Thai answer
(``ticketing/tests/test_api_errors_th.py`` sends every code in Thai). Nothing imports this module;
it is only read by ``makemessages``.
"""

from django.utils.translation import gettext_noop, ngettext_lazy

SIMPLEJWT = (
    # rest_framework_simplejwt/authentication.py
    gettext_noop("Authorization header must contain two space-delimited values"),
    gettext_noop("Given token not valid for any token type"),
    gettext_noop("Token contained no recognizable user identification"),
    gettext_noop("User not found"),
    gettext_noop("User is inactive"),
    gettext_noop("The user's password has been changed."),
    # rest_framework_simplejwt/exceptions.py
    gettext_noop("Token is invalid or expired"),
    # rest_framework_simplejwt/tokens.py
    gettext_noop("Token is invalid"),
    gettext_noop("Token is expired"),
    gettext_noop("Token has no id"),
    gettext_noop("Token has no type"),
    gettext_noop("Token has wrong type"),
    gettext_noop("Token has no '{}' claim"),
    gettext_noop("Token '{}' claim has expired"),
    gettext_noop("Token is blacklisted"),
    # rest_framework_simplejwt/serializers.py
    gettext_noop("No active account found with the given credentials"),
    gettext_noop("No active account found for the given token."),
)

DRF = (
    # rest_framework/fields.py: not in DRF's Thai catalog
    gettext_noop("Not a valid string."),
    gettext_noop("Must be a valid UUID."),
    gettext_noop("Must be a valid boolean."),
    gettext_noop("Ensure this field has at least {min_length} elements."),
    gettext_noop("Ensure this field has no more than {max_length} elements."),
    gettext_noop("Surrogate characters are not allowed: U+{code_point:X}."),
    gettext_noop("This dictionary may not be empty."),
    gettext_noop("Datetime value out of range."),
    # rest_framework/exceptions.py: not in DRF's Thai catalog
    gettext_noop("Invalid input."),
    gettext_noop("Could not satisfy the request Accept header."),
    # rest_framework: in DRF's Thai catalog, with a typo or an awkward wording
    gettext_noop("Authentication credentials were not provided."),
    gettext_noop("You do not have permission to perform this action."),
    gettext_noop('Method "{method}" not allowed.'),
    gettext_noop('Unsupported media type "{media_type}" in request.'),
    gettext_noop("Ensure this field has at least {min_length} characters."),
)

DJANGO_AUTH = (
    # django.contrib.auth.forms (the sign-in and sign-up pages)
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
    # contrib.auth.password_validation (the validators of AUTH_PASSWORD_VALIDATORS): sign-up
    # page and the 400 of auth/register/
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
