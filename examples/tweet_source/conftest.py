"""Pin "today" for reproducible ages: the day picked by ``TWEETS_DAY`` (tweet_source/serving.py).

An MLTESTSCORE_TODAY already set in the environment wins. This file is loaded before the
plugin reads its configuration, so every age uses the pin.
"""

import os

from tweet_source.serving import current_day

os.environ.setdefault("MLTESTSCORE_TODAY", current_day().today)
