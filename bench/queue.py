#!/usr/bin/env python
"""The waiting-room benchmark of issue #19: ``bench/queue.py --help`` (the code: ``waitroom.py``).

This file has the name the issue asked for, which is also the name of a standard-library module:
every script run from ``bench/`` has ``bench/`` first on ``sys.path``, so ``import queue`` (done by
``concurrent.futures``, ``logging.handlers``, aiohttp…) finds this file. Imported that way, it
hands over the standard library's ``queue`` (below); run as a script it runs the benchmark.
"""

import sys
import sysconfig
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

if __name__ == "__main__":
    from waitroom import main

    raise SystemExit(main())

_spec = spec_from_file_location("queue", Path(sysconfig.get_path("stdlib")) / "queue.py")
assert _spec is not None and _spec.loader is not None
_stdlib_queue = module_from_spec(_spec)
sys.modules["queue"] = _stdlib_queue  # what `import queue` returns once this file has run
_spec.loader.exec_module(_stdlib_queue)
