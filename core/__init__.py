"""The bottom layer: what every app of the project shares and nothing of theirs.

Errors (:mod:`core.errors`), OpenAPI helpers (:mod:`core.schema`), pagination
(:mod:`core.pagination`), request parsing (:mod:`core.parsers`), rate limits
(:mod:`core.ratelimits`), guarded Redis (:mod:`core.redisguard`), the admin toolkit
(:mod:`core.admin`) and the publisher interface through which the domain apps announce changes
(:mod:`core.events`). Dependencies flow ticketing → orders,
realtime → seats → core; ``core`` imports none of the project's apps (an import-linter contract in
``pyproject.toml`` checks it).
"""
