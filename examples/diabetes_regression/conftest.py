"""Pin "today" to 2026-11-20 for reproducible ages (model staleness, attestations).

An MLTESTSCORE_TODAY already set in the environment wins, e.g.
``MLTESTSCORE_TODAY=$(date -u +%F)`` to judge the example against the real calendar. This file
is loaded before the plugin reads its configuration, so every age uses the pin.
"""

import os

os.environ.setdefault("MLTESTSCORE_TODAY", "2026-11-20")
