"""axe-core in the browser tests: :func:`serious_violations` runs axe-core on a Playwright page
(``axe-playwright-python``'s public API) and returns its serious and critical violations, one
readable line each, so that a failing test names the rule, its impact, its help text and the
first elements it found::

    from ticketing.tests.axe import assert_no_serious_violations

    page.goto(f"{base_url}/showtimes/{showtime.pk}/")
    page.wait_for_selector('#seatmap-app[data-ready="true"]', state="attached")
    assert_no_serious_violations(page, "the seat map")

Rules are never switched off here: a violation is fixed in the template or the CSS. ``context``
limits a run to part of a page (axe-core's context: a selector, or ``{"include": [...],
"exclude": [...]}``), for a page of which only a part is ours to check."""

from __future__ import annotations

from typing import Any

SERIOUS = ("serious", "critical")
TARGETS_SHOWN = 3


def _describe(violation: dict[str, Any]) -> str:
    """``rule (impact): help; N element(s): target, target, …`` for one violation of axe's
    answer."""
    nodes = violation.get("nodes", [])
    targets = [" ".join(map(str, node.get("target", []))) for node in nodes[:TARGETS_SHOWN]]
    more = ", …" if len(nodes) > TARGETS_SHOWN else ""
    return (
        f"{violation['id']} ({violation.get('impact')}): {violation.get('help', '')}; "
        f"{len(nodes)} element(s): {', '.join(targets)}{more}"
    )


def serious_violations(page: Any, context: str | dict[str, Any] | None = None) -> list[str]:
    """Run axe-core on ``page`` (a Playwright sync ``Page``, loaded and settled) and return its
    violations of impact "serious" or "critical", each as one line (see :func:`_describe`); an
    empty list when there are none. Minor and moderate findings are not returned."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, context=context)
    return [_describe(v) for v in results.response["violations"] if v.get("impact") in SERIOUS]


def assert_no_serious_violations(
    page: Any, where: str, context: str | dict[str, Any] | None = None
) -> None:
    """Fail with every serious or critical violation of ``page`` listed, ``where`` naming the page
    (and its state) in the message."""
    found = serious_violations(page, context)
    assert not found, f"axe on {where}:\n" + "\n".join(found)
