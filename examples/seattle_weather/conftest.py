"""Pin "today" to the last replayed day when the environment does not.

replay.py sets MLTESTSCORE_TODAY for each day it replays. A plain ``python -m pytest`` in this
directory afterwards re-scores the last replayed day (state/replay.json). Without a replay there
are no logs to score: run ``python replay.py`` first.
"""

import json
import os
from pathlib import Path

MARKER = Path(__file__).resolve().parent / "state" / "replay.json"

if not os.environ.get("MLTESTSCORE_TODAY") and MARKER.exists():
    os.environ["MLTESTSCORE_TODAY"] = json.loads(MARKER.read_text(encoding="utf-8"))["last_day"]
