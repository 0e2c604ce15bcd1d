"""Pin "today" for reproducible ages (model staleness, attestations).

The date is the day picked by ``PENGUINS_DAY`` (see penguins_model/serving.py): 2026-11-20 on
the good day, 2027-08-20 on the bad day. An MLTESTSCORE_TODAY already set in the environment
wins, e.g. ``MLTESTSCORE_TODAY=$(date -u +%F)`` to judge the example against the real calendar.
This file is loaded before the plugin reads its configuration, so every age uses the pin.
"""

import os

from penguins_model.serving import current_day

os.environ.setdefault("MLTESTSCORE_TODAY", current_day().today)
