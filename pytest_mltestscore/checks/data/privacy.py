"""data-5: the data pipeline has appropriate privacy controls.

:func:`pii_scan` looks for raw personal data in the string columns of training and serving
frames; :func:`deletion_log_check` verifies that ids whose data must be forgotten are gone from
the training data.

Detection rules (vectorised regular expressions over the distinct values of each string column,
then a vectorised validity check on what they matched). Numeric columns are not scanned: plain
numbers are far too often mistaken for card or phone numbers.

``email``
    ``local@domain.tld`` with a 2+ letter top-level domain.
``phone``
    E.164: ``+`` then a country code and 8 to 15 digits in all, single spaces, dots or dashes
    allowed between digits. North American: ``(555) 234-5678``, ``555-234-5678``,
    ``555.234.5678``, optionally ``+1``/``1`` first; area code and exchange start with 2-9, and
    separators are required. National with trunk prefix 0 (most of Europe): ``020 7946 0958``,
    ``06 12 34 56 78``: groups separated by spaces, dots or dashes, 10 to 11 digits in all, not
    followed by ``:`` (times). A bare run of digits is never taken for a phone number.
``card``
    13 to 19 digits, optionally grouped by single spaces or dashes, starting with 2-6 (the
    ranges of Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay), not part of a longer
    number or a decimal, passing the Luhn checksum. One random number in ten passes Luhn, so a
    column is reported only when at least half of its card-shaped values pass (a column of
    random ids passes about 10%).
``iban``
    Two-letter country code of the IBAN registry, two check digits, then the country's fixed
    length of letters and digits (single spaces allowed), passing the ISO 13616 mod-97 check.
``ip``
    IPv4 dotted quads (each part 0-255) and IPv6 (full or ``::``-compressed), validated with
    :mod:`ipaddress`; loopback, unspecified and broadcast addresses are ignored.
``national_id``
    US Social Security numbers in the dashed form ``123-45-6789``, excluding invalid ranges
    (area 000, 666 and 900-999, group 00, serial 0000) and the two famous published numbers
    078-05-1120 and 219-09-9999; UK National Insurance numbers ``AB 12 34 56 C`` with the
    letter rules of HMRC (no D, F, I, Q, U, V; no O second; not BG, GB, KN, NK, NT, TN, ZZ).

Examples in results are masked (the middle of each match replaced by ``*``): a failure message
never prints a full value.
"""

from __future__ import annotations

import contextlib
import fnmatch
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ...arguments import did_you_mean, require_columns, require_frame
from ...assets import AssetError
from ...builtin import BuiltinCheck, CheckContext, Param, dataset
from ...findings import (
    findings_table,
    plural,
    require_names,
    require_non_negative,
    short,
)
from ...result import CheckResult, library_check

if TYPE_CHECKING:
    import pandas as pd

RUBRIC_ID = "data-5"
DEFAULT_SAMPLE_ROWS = 100_000
DEFAULT_MIN_SHARE = 0.0
DEFAULT_MAX_EXAMPLES = 3
LUHN_MIN_SHARE = 0.5

# ISO 13616 registry: country code -> IBAN length.
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip

Validator = Callable[["pd.Series"], npt.NDArray[np.bool_]]


@dataclass(frozen=True)
class Detector:
    """One way of finding a kind of PII: a regex (no capturing groups) and a validity check."""

    kind: str
    method: str
    # A lookaround-free superset of ``pattern`` (RE2 syntax), to pick the values worth the
    # full pattern with a fast engine.
    prefilter: str
    pattern: re.Pattern[str]
    validate: Validator | None = None


def _digits(s: pd.Series) -> pd.Series:
    return s.str.replace(r"[^0-9]", "", regex=True)


def _digit_count_between(low: int, high: int) -> Validator:
    def check(s: pd.Series) -> npt.NDArray[np.bool_]:
        n = s.str.count(r"\d").to_numpy()
        return np.asarray((n >= low) & (n <= high), dtype=bool)

    return check


def luhn_valid(numbers: pd.Series) -> npt.NDArray[np.bool_]:
    """Vectorised Luhn checksum of digit strings (separators ignored; 1 to 19 digits)."""
    digits = _digits(numbers)
    ok_len = digits.str.len().between(1, 19).to_numpy()
    out = np.zeros(len(digits), dtype=bool)
    if not ok_len.any():
        return out
    padded = digits[ok_len].str.zfill(19)
    raw = np.frombuffer("".join(padded.tolist()).encode("ascii"), dtype=np.uint8)
    d = (raw.reshape(-1, 19) - ord("0")).astype(np.int64)
    # Column j is the (18 - j)-th digit from the right: double every second one from the right.
    doubled = d[:, 1::2] * 2
    d[:, 1::2] = np.where(doubled > 9, doubled - 9, doubled)
    out[ok_len] = d.sum(axis=1) % 10 == 0
    return out


def _card_valid(s: pd.Series) -> npt.NDArray[np.bool_]:
    n = _digits(s).str.len().to_numpy()
    return np.asarray((n >= 13) & (n <= 19), dtype=bool) & luhn_valid(s)


def iban_valid(candidates: pd.Series) -> npt.NDArray[np.bool_]:
    """Vectorised ISO 13616 check: registry country and length, then mod 97 == 1."""
    import pandas as pd

    compact = candidates.str.replace(" ", "", regex=False).str.upper()
    lengths = compact.str[:2].map(IBAN_LENGTHS)
    known = lengths.notna().to_numpy()
    out = np.zeros(len(compact), dtype=bool)
    if not known.any():
        return out
    lens = lengths[known].astype(int).to_numpy()
    codes = compact[known]
    long_enough = codes.str.len().to_numpy() >= lens
    # Cut each to its country's length (a greedy match may run on), then rotate 4 chars.
    cut = pd.Series(
        [c[:n] for c, n in zip(codes.tolist(), lens.tolist(), strict=True)], dtype=object
    )
    rotated = (cut.str[4:] + cut.str[:4]).tolist()
    width = max(len(r) for r in rotated)
    padded = [r.ljust(width) for r in rotated]
    chars = np.frombuffer("".join(padded).encode("ascii"), dtype=np.uint8).reshape(-1, width)
    rem = np.zeros(len(padded), dtype=np.int64)
    for j in range(width):
        c = chars[:, j].astype(np.int64)
        is_digit = (c >= 48) & (c <= 57)
        is_letter = (c >= 65) & (c <= 90)
        rem = np.where(is_digit, (rem * 10 + (c - 48)) % 97, rem)
        rem = np.where(is_letter, (rem * 100 + (c - 55)) % 97, rem)
    out[np.flatnonzero(known)] = long_enough & (rem == 1)
    return out


def _ip_valid(s: pd.Series) -> npt.NDArray[np.bool_]:
    def ok(text: str) -> bool:
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            return False
        if addr.is_loopback or addr.is_unspecified:
            return False
        return not (isinstance(addr, ipaddress.IPv4Address) and str(addr) == "255.255.255.255")

    uniq = {v: ok(v) for v in dict.fromkeys(s.tolist())}
    return np.fromiter((uniq[v] for v in s.tolist()), dtype=bool, count=len(s))


def _ssn_valid(s: pd.Series) -> npt.NDArray[np.bool_]:
    return ~s.isin(["078-05-1120", "219-09-9999"]).to_numpy()


def _ascii(pattern: str) -> re.Pattern[str]:
    # ASCII classes, as in RE2: \d is 0-9 only, so matches are safe for the numeric checks.
    return re.compile(pattern, re.ASCII)


_IPV4_PART = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_HEX = r"[0-9A-Fa-f]{1,4}"
DETECTORS: tuple[Detector, ...] = (
    Detector(
        "email",
        "regex local@domain.tld",
        r"@[A-Za-z0-9-]+\.",
        _ascii(r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    ),
    Detector(
        "phone",
        "regex E.164 (+ and 8-15 digits)",
        r"\+[1-9]",
        _ascii(r"(?<![\w+])\+[1-9](?:[ .-]?\d){7,14}(?![\d])"),
        _digit_count_between(8, 15),
    ),
    Detector(
        "phone",
        "regex North American (separators required)",
        r"\d{3}[ .-]\d{4}",
        _ascii(
            r"(?<![\w+])(?:\+?1[ .-]?)?(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[ .-])"
            r"[2-9]\d{2}[ .-]\d{4}(?![\d-])"
        ),
    ),
    Detector(
        "phone",
        "regex national, trunk 0, 10-11 digits",
        r"0\d{1,4}[ .-]\d{2}",
        _ascii(r"(?<![\w+.:-])0\d{1,4}(?:[ .-]\d{2,6}){2,4}(?![\d:.-])"),
        _digit_count_between(10, 11),
    ),
    Detector(
        "card",
        f"regex 13-19 digits + Luhn (column needs >= {LUHN_MIN_SHARE:.0%} Luhn-valid)",
        r"[2-6](?:[ -]?\d){12}",
        _ascii(r"(?<![\d.,])[2-6](?:[ -]?\d){12,18}(?![\d])"),
        _card_valid,
    ),
    Detector(
        "iban",
        "regex IBAN + registry length + mod-97",
        r"[A-Z]{2}\d{2}",
        _ascii(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])"),
        iban_valid,
    ),
    Detector(
        "ip",
        "regex IPv4 + ipaddress",
        r"\d\.\d{1,3}\.\d{1,3}\.\d",
        _ascii(rf"(?<![\d.])(?:{_IPV4_PART}\.){{3}}{_IPV4_PART}(?![\d.])"),
        _ip_valid,
    ),
    Detector(
        "ip",
        "regex IPv6 + ipaddress",
        r"::|(?:[0-9A-Fa-f]{1,4}:){7}",
        _ascii(
            rf"(?<![\w:])(?:(?:{_HEX}:){{7}}{_HEX}|(?:{_HEX}(?::{_HEX}){{0,6}})?::"
            rf"(?:{_HEX}(?::{_HEX}){{0,6}})?)(?![\w:])"
        ),
        _ip_valid,
    ),
    Detector(
        "national_id",
        "regex US SSN (dashed, valid ranges)",
        r"\d{3}-\d{2}-\d{4}",
        _ascii(r"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])"),
        _ssn_valid,
    ),
    Detector(
        "national_id",
        "regex UK National Insurance number",
        r"\d{2} ?\d{2} ?\d{2} ?[A-D]",
        _ascii(
            r"(?<![A-Za-z0-9])(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
            r" ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![A-Za-z0-9])"
        ),
    ),
)
KINDS = tuple(dict.fromkeys(d.kind for d in DETECTORS))


def mask_value(text: str) -> str:
    """Keep a few characters at each end, star out the middle: never print a full value."""
    n = len(text)
    keep = max(1, min(4, n // 4)) if n > 4 else 0
    if keep == 0:
        return "*" * n
    return text[:keep] + "*" * (n - 2 * keep) + text[-keep:]


def _glob_regex(patterns: Sequence[str]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(fnmatch.translate(p) for p in patterns), re.IGNORECASE)


def _is_text(s: pd.Series) -> bool:
    import pandas as pd

    if isinstance(s.dtype, pd.CategoricalDtype):
        return pd.api.types.is_object_dtype(s.cat.categories) or pd.api.types.is_string_dtype(
            s.cat.categories
        )
    return bool(pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s))


def _arrow_strings(values: pd.Series) -> Any:
    """The values as a pyarrow string array, or None without pyarrow (then ``re`` is used)."""
    try:
        import pyarrow as pa
    except ImportError:
        return None
    return pa.array(values.tolist(), type=pa.large_string())


MEMO_VALUES = 20_000
"""Distinct values per column whose outcome is remembered across chunks (a category seen in
every chunk is matched once); beyond it new values are matched again in each chunk."""


@dataclass
class _Hit:
    kind: str
    methods: list[str]
    rows: int
    examples: list[str]
    candidate_rows: int = 0


@dataclass
class _ColumnScan:
    """What the chunks seen so far said about one column: rows per detector outcome."""

    text: bool = False
    # per detector: rows whose value it matched (before validation) and rows it flagged
    candidate_rows: list[int] = field(default_factory=list)
    hit_rows_by_kind: dict[str, int] = field(default_factory=dict)
    card_candidate_rows: int = 0
    methods_hit: set[int] = field(default_factory=set)
    examples: dict[str, list[str]] = field(default_factory=dict)
    memo: dict[str, int] = field(default_factory=dict)  # value -> outcome bits


def _outcomes(
    uniq: pd.Series,
    detectors: Sequence[Detector],
    allow_values: re.Pattern[str] | None,
    state: _ColumnScan,
    max_examples: int,
    prefiltered: bool = False,
) -> npt.NDArray[np.int64]:
    """Per distinct value, bits ``2i`` (detector ``i`` matched) and ``2i + 1`` (it matched a
    valid, non-allowed value); examples of flagged values go to ``state`` (masked)."""
    bits = np.zeros(len(uniq), dtype=np.int64)
    arrow = _arrow_strings(uniq)
    blob = "\n".join(uniq.tolist()) if arrow is None else ""
    if arrow is not None and not prefiltered and len(uniq) > 1000:
        # One RE2 pass with every prefilter first: most values of a clean column match none,
        # and only those that match one go through each detector's own.
        import pyarrow.compute as pc

        anything = "|".join(f"(?:{d.prefilter})" for d in detectors)
        some = np.asarray(
            pc.match_substring_regex(arrow, anything).to_numpy(zero_copy_only=False), dtype=bool
        )
        if not some.any():
            return bits
        where = np.flatnonzero(some)
        subset = uniq.iloc[where].reset_index(drop=True)
        bits[where] = _outcomes(subset, detectors, allow_values, state, max_examples, True)
        return bits
    for i, det in enumerate(detectors):
        if arrow is not None:
            # RE2 through pyarrow: linear time, about ten times faster than re here.
            import pyarrow.compute as pc

            picked = pc.match_substring_regex(arrow, det.prefilter).to_numpy(zero_copy_only=False)
            if not picked.any():
                continue
            subset = uniq[np.asarray(picked, dtype=bool)]
        else:
            # No pattern can match across a newline, so one search over the joined values
            # tells whether a detector needs the per-value pass at all (the clean case).
            if det.pattern.search(blob) is None:
                continue
            subset = uniq
        matches = subset.str.findall(det.pattern).explode().dropna()
        if matches.empty:
            continue
        matches = matches.astype(object)
        ok = np.ones(len(matches), dtype=bool)
        if det.validate is not None:
            ok &= det.validate(matches)
        if allow_values is not None:
            ok &= ~matches.map(lambda m: bool(allow_values.fullmatch(m))).to_numpy(dtype=bool)
        positions = matches.index.to_numpy()
        bits[np.unique(positions)] |= 1 << (2 * i)
        hit_pos = np.unique(positions[ok])
        if hit_pos.size == 0:
            continue
        bits[hit_pos] |= 1 << (2 * i + 1)
        examples = state.examples.setdefault(det.kind, [])
        for m in dict.fromkeys(matches[ok].tolist()):
            if len(examples) >= max_examples:
                break
            masked = mask_value(str(m))
            if masked not in examples:
                examples.append(masked)
    return bits


def _all_strings(values: pd.Series) -> bool:
    """Whether every non-null value is a ``str`` by the dtype alone (no look at each value)."""
    import pandas as pd

    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return isinstance(dtype.categories.dtype, pd.StringDtype)
    return isinstance(dtype, pd.StringDtype)


def _scan_values(
    values: pd.Series,
    detectors: Sequence[Detector],
    allow_values: re.Pattern[str] | None,
    state: _ColumnScan,
    max_examples: int,
) -> None:
    """Add the rows of one chunk of a string column to ``state``."""
    import pandas as pd

    counts = values.value_counts(dropna=True)
    if counts.empty:
        return
    keys = counts.index.to_numpy(dtype=object)
    weights = counts.to_numpy().astype(np.int64)
    if not _all_strings(values):
        is_str = np.fromiter((isinstance(v, str) for v in keys), dtype=bool, count=len(keys))
        keys, weights = keys[is_str], weights[is_str]
    if not len(keys):
        return
    memo = state.memo
    bits = np.zeros(len(keys), dtype=np.int64)
    if memo:
        known = np.fromiter((v in memo for v in keys), dtype=bool, count=len(keys))
        bits[known] = np.fromiter((memo[v] for v in keys[known]), dtype=np.int64)
    else:
        known = np.zeros(len(keys), dtype=bool)
    new = np.flatnonzero(~known)
    if new.size:
        uniq = pd.Series(keys[new], dtype=object)
        fresh = _outcomes(uniq, detectors, allow_values, state, max_examples)
        bits[new] = fresh
        room = MEMO_VALUES - len(memo)
        if room > 0:
            memo.update(zip(keys[new[:room]].tolist(), fresh[:room].tolist(), strict=True))
    if not bits.any():
        return
    for kind in dict.fromkeys(d.kind for d in detectors):
        mask = 0
        for i, det in enumerate(detectors):
            if det.kind == kind:
                mask |= 1 << (2 * i + 1)
        flagged = (bits & mask) != 0
        if flagged.any():
            state.hit_rows_by_kind[kind] = state.hit_rows_by_kind.get(kind, 0) + int(
                weights[flagged].sum()
            )
    for i, det in enumerate(detectors):
        if det.kind == "card":
            cand = (bits & (1 << (2 * i))) != 0
            state.card_candidate_rows += int(weights[cand].sum())
        if ((bits & (1 << (2 * i + 1))) != 0).any():
            state.methods_hit.add(i)


def _hits(state: _ColumnScan, detectors: Sequence[Detector]) -> dict[str, _Hit]:
    """Per kind (in the detectors' order): rows flagged, methods that flagged, examples."""
    out: dict[str, _Hit] = {}
    for kind in dict.fromkeys(d.kind for d in detectors):
        methods = [
            d.method for i, d in enumerate(detectors) if d.kind == kind and i in state.methods_hit
        ]
        rows = state.hit_rows_by_kind.get(kind, 0)
        cand = state.card_candidate_rows if kind == "card" else 0
        if rows or cand:
            out[kind] = _Hit(kind, methods, rows, list(state.examples.get(kind, [])), cand)
    return out


class PiiScan:
    """The PII scan as an accumulator: fed frames chunk by chunk (per named frame), it keeps
    per column only the counts of rows each detector flagged, a few masked examples and a
    bounded memo of the distinct values already matched; :meth:`result` gives the verdict.
    Feeding a frame whole or in chunks gives the same result."""

    def __init__(
        self,
        *,
        columns: Sequence[str] | None = None,
        allow_columns: Sequence[str] = (),
        allow_values: Sequence[str] = (),
        kinds: Sequence[str] | None = None,
        min_share: float = DEFAULT_MIN_SHARE,
        max_examples: int = DEFAULT_MAX_EXAMPLES,
    ) -> None:
        wanted = require_names(kinds, "kinds") if kinds is not None else list(KINDS)
        for k in wanted:
            if k not in KINDS:
                raise ValueError(
                    f"kinds: unknown kind {k!r}{did_you_mean(k, KINDS)}; known: {', '.join(KINDS)}"
                )
        self.wanted = wanted
        self.detectors = [d for d in DETECTORS if d.kind in wanted]
        self.allow_cols = _glob_regex(require_names(allow_columns, "allow_columns"))
        self.allow_vals = _glob_regex(require_names(allow_values, "allow_values"))
        require_non_negative(min_share, "min_share")
        if min_share > 1:
            raise ValueError(f"min_share: expected a share between 0 and 1, got {min_share!r}")
        if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 0:
            raise ValueError(f"max_examples: expected an integer >= 0, got {max_examples!r}")
        self.min_share = min_share
        self.max_examples = max_examples
        self.selected = require_names(columns, "columns") if columns is not None else None
        self.rows: dict[str, int] = {}
        self.notes: dict[str, list[str]] = {}
        self.columns: dict[str, dict[str, _ColumnScan | None]] = {}  # None: exempt

    def merge(self, other: PiiScan) -> PiiScan:
        """This scan and ``other`` (of other frames, with the same settings) as one."""
        for frame in other.columns:
            if frame in self.columns:
                raise ValueError(f"frame {frame!r} was scanned twice")
            self.columns[frame] = other.columns[frame]
            self.rows[frame] = other.rows[frame]
            self.notes[frame] = other.notes.get(frame, [])
        return self

    def note(self, frame: str, text: str) -> None:
        """A note about ``frame`` (e.g. that it was sampled), kept in order."""
        self.notes.setdefault(frame, []).append(text)

    def feed(self, frame: str, chunk: pd.DataFrame) -> None:
        """Add a chunk of the frame named ``frame`` (the rows of one chunk, all its columns)."""
        self.rows[frame] = self.rows.get(frame, 0) + len(chunk)
        self.notes.setdefault(frame, [])
        cols = self.columns.setdefault(frame, {})
        for col in chunk.columns:
            name = str(col)
            if self.selected is not None and name not in self.selected:
                continue
            if name not in cols:
                label = f"{frame}.{name}"
                exempt = self.allow_cols is not None and (
                    self.allow_cols.fullmatch(name) or self.allow_cols.fullmatch(label)
                )
                cols[name] = None if exempt else _ColumnScan()
            state = cols[name]
            if state is None:
                continue
            series = chunk[col]
            if not _is_text(series):
                continue
            state.text = True
            if len(series):
                _scan_values(series, self.detectors, self.allow_vals, state, self.max_examples)

    def result(self) -> CheckResult:
        check = "pii_scan"
        if self.selected is not None:
            everywhere = {c for cols in self.columns.values() for c in cols}
            for c in self.selected:
                if c not in everywhere:
                    raise ValueError(
                        f"columns: {c!r} is not a column of any frame{did_you_mean(c, everywhere)}"
                    )
        findings: list[tuple[Any, ...]] = []
        notes: list[str] = []
        scanned = 0
        skipped_numeric: list[str] = []
        exempt: list[str] = []
        flagged_labels: list[str] = []
        metrics: dict[str, float] = {}
        min_share = self.min_share
        for fname, cols in self.columns.items():
            notes.extend(self.notes.get(fname, []))
            n = self.rows[fname]
            for name, state in cols.items():
                label = f"{fname}.{name}"
                if state is None:
                    exempt.append(label)
                    continue
                if not state.text:
                    skipped_numeric.append(label)
                    continue
                scanned += 1
                for kind, hit in _hits(state, self.detectors).items():
                    if (
                        kind == "card"
                        and hit.rows
                        and hit.rows < LUHN_MIN_SHARE * hit.candidate_rows
                    ):
                        notes.append(
                            f"{label}: {hit.rows} of {hit.candidate_rows} card-shaped values "
                            "pass Luhn, as random digit strings do (about 10%): not reported as "
                            "cards"
                        )
                        continue
                    if not hit.rows:
                        continue
                    share = hit.rows / n
                    if share < min_share:
                        notes.append(
                            f"{label}: {hit.rows} rows look like {kind} ({share:.2%}), below "
                            f"min_share {min_share:.2%}"
                        )
                        continue
                    metrics[f"{label}:{kind}"] = share
                    flagged_labels.append(f"{label} ({kind})")
                    findings.append(
                        (
                            label,
                            "; ".join(dict.fromkeys(hit.methods)),
                            f"rows with {kind}",
                            "any match" if min_share == 0 else f"share >= {min_share:.2%}",
                            f"{hit.rows} of {n} rows ({share:.2%})",
                            "no raw PII",
                            hit.rows,
                            ", ".join(hit.examples) or "-",
                        )
                    )
        if exempt:
            notes.append(f"exempt by allow_columns: {', '.join(exempt)}")
        if skipped_numeric:
            notes.append(f"{plural(len(skipped_numeric), 'non-text column')} not scanned")
        metrics["columns_scanned"] = float(scanned)
        method = f"regex scans for {', '.join(self.wanted)}; examples masked"
        if findings:
            flagged = ", ".join(flagged_labels)
            return CheckResult(
                check,
                "fail",
                f"raw PII found in {plural(len(findings), 'column/kind')}: {flagged} ({method})",
                findings_table(findings),
                RUBRIC_ID,
                metrics,
                tuple(notes),
            )
        if scanned == 0:
            return CheckResult(
                check,
                "skip",
                "no text column to scan (numeric columns are not scanned)",
                None,
                RUBRIC_ID,
                metrics,
                tuple(notes),
            )
        return CheckResult(
            check,
            "pass",
            f"no PII in {plural(scanned, 'text column')} of {plural(len(self.columns), 'frame')} "
            f"({method})",
            None,
            RUBRIC_ID,
            metrics,
            tuple(notes),
        )


@library_check
def pii_scan(
    frames: Mapping[str, pd.DataFrame],
    columns: Sequence[str] | None = None,
    *,
    allow_columns: Sequence[str] = (),
    allow_values: Sequence[str] = (),
    kinds: Sequence[str] | None = None,
    sample_rows: int | None = DEFAULT_SAMPLE_ROWS,
    min_share: float = DEFAULT_MIN_SHARE,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    seed: int = 0,
) -> CheckResult:
    """Scan the string columns of each named frame for raw PII (see the module docstring).

    ``columns`` limits the scan (each must exist in some frame). ``allow_columns`` exempts
    columns by name or glob (``"contact_*"``, or ``"frame.column"``); ``allow_values`` exempts
    matched values by glob (``"*@example.com"``, ``"10.*"``); both are case-insensitive.
    Frames longer than ``sample_rows`` are scanned on a seeded random sample of that many rows.
    A column fails for a kind when at least one row matches and the share of matching rows is
    at least ``min_share``. Examples are masked. (The built-in check scans every row, chunk by
    chunk, with :class:`PiiScan`.)
    """
    if not isinstance(frames, Mapping) or not frames:
        raise ValueError("frames: expected a non-empty mapping of name to DataFrame")
    data = {str(k): require_frame(v, f"frames[{k!r}]") for k, v in frames.items()}
    scan = PiiScan(
        columns=columns,
        allow_columns=allow_columns,
        allow_values=allow_values,
        kinds=kinds,
        min_share=min_share,
        max_examples=max_examples,
    )
    if sample_rows is not None and (
        isinstance(sample_rows, bool) or not isinstance(sample_rows, int) or sample_rows < 1
    ):
        raise ValueError(f"sample_rows: expected an integer >= 1 or None, got {sample_rows!r}")
    if scan.selected is not None:
        everywhere = {str(c) for f in data.values() for c in f.columns}
        for c in scan.selected:
            if c not in everywhere:
                raise ValueError(
                    f"columns: {c!r} is not a column of any frame{did_you_mean(c, everywhere)}"
                )
    for fname, frame in data.items():
        if sample_rows is not None and len(frame) > sample_rows:
            frame = frame.sample(n=sample_rows, random_state=seed)
            scan.note(fname, f"{fname}: scanned a seeded sample of {sample_rows} of its rows")
        scan.feed(fname, frame)
    return scan.result()


def _id_keys(values: pd.Series) -> pd.Series:
    """Ids as comparable strings: integral floats (ids read from CSV with gaps) lose ``.0``."""
    import pandas as pd

    if pd.api.types.is_float_dtype(values):
        as_int = values.round()
        if bool((as_int == values).all()):
            return as_int.astype("int64").astype(str)
    return values.astype(str).str.strip()


@library_check
def deletion_log_check(
    training_df: pd.DataFrame,
    id_column: str,
    deleted_ids: Iterable[Any],
    *,
    max_examples: int = 5,
) -> CheckResult:
    """None of the ids whose data must be forgotten may remain in the training data.

    Ids are compared as values when both sides are numeric, else as text (so ``"42"`` in a
    deletion log matches ``42`` in the data). An empty deletion log gives nothing to verify.
    """
    import pandas as pd

    check = "deletion_log_check"
    frame = require_frame(training_df, "training_df")
    require_columns(frame, [id_column], what="the training data", arg="id_column")
    if isinstance(deleted_ids, (str, bytes)):
        raise ValueError("deleted_ids: expected a collection of ids, got a single string")
    log = pd.Series(list(deleted_ids), dtype=object).dropna().drop_duplicates()
    ids = frame[id_column]
    metrics = {"deleted_ids": float(len(log)), "training_rows": float(len(frame))}
    if log.empty:
        return CheckResult(
            check, "skip", "the deletion log is empty: nothing to verify", None, RUBRIC_ID, metrics
        )
    log_numeric = pd.to_numeric(log, errors="coerce")
    numeric = (
        pd.api.types.is_numeric_dtype(ids)
        and not pd.api.types.is_bool_dtype(ids)
        and bool(log_numeric.notna().all())
        and all(not isinstance(v, str) for v in log.tolist())
    )
    if numeric:
        found = ids.isin(log_numeric.tolist())
        method = "numeric id match"
    else:
        found = _id_keys(ids.dropna()).reindex(ids.index).isin(set(_id_keys(log).tolist()))
        method = "id match as text"
    remaining = ids[found.fillna(False).astype(bool)]
    n_ids = int(remaining.nunique())
    metrics.update(remaining_ids=float(n_ids), remaining_rows=float(len(remaining)))
    if n_ids:
        examples = ", ".join(short(v) for v in remaining.drop_duplicates().iloc[:max_examples])
        row = (
            id_column,
            method,
            "deleted ids still present",
            "0",
            f"{n_ids} of {len(log)} deleted ids",
            "0",
            len(remaining),
            examples,
        )
        return CheckResult(
            check,
            "fail",
            f"{n_ids} of {plural(len(log), 'id')} in the deletion log are still in the training "
            f"data ({len(remaining)} rows of {id_column!r})",
            findings_table([row]),
            RUBRIC_ID,
            metrics,
        )
    return CheckResult(
        check,
        "pass",
        f"none of the {plural(len(log), 'id')} in the deletion log remain in {len(frame)} "
        f"training rows ({method} on {id_column!r})",
        None,
        RUBRIC_ID,
        metrics,
    )


# -- built-in check ----------------------------------------------------------------------------
SCANNED = ("training", "serving")
WATCH_KEY = "pii_scan"


class _ChunkScan:
    """The scan of one dataset as a watcher of its streaming pass."""

    def __init__(self, name: str, scan: PiiScan) -> None:
        self.name = name
        self.scan = scan

    def feed(self, chunk: pd.DataFrame) -> None:
        self.scan.feed(self.name, chunk)


def _scan_for(ctx: CheckContext) -> Callable[[str], Callable[[], _ChunkScan]]:
    def factory(name: str) -> Callable[[], _ChunkScan]:
        return lambda: _ChunkScan(
            name,
            PiiScan(
                allow_columns=ctx.params["allow_columns"] or (),
                allow_values=ctx.params["allow_values"] or (),
                min_share=ctx.params["min_share"],
            ),
        )

    return factory


def watch_privacy(ctx: CheckContext) -> None:
    """Ride the profile pass of training and serving: each chunk the profiles read is scanned."""
    factory = _scan_for(ctx)
    for name in SCANNED:
        if ctx.assets.available("dataset", name):
            ctx.assets.watch(name, WATCH_KEY, factory(name))


def _scanned(ctx: CheckContext) -> CheckResult:
    """The PII scan of every row of training and serving, from the chunks their profiles read
    (the profile is made now when no check made it yet: one pass for both)."""
    from .schema import planned_profile, schema_if_any

    names = [n for n in SCANNED if ctx.assets.available("dataset", n)]
    watch_privacy(ctx)  # when run without collection (registering twice changes nothing)
    path = ctx.settings.schema_path
    schema = schema_if_any(path) if path is not None else None
    merged: PiiScan | None = None
    for name in names:
        reference = "training" if name != "training" and "training" in names else None
        with contextlib.suppress(AssetError):  # else the scan reads the chunks by itself
            planned_profile(ctx, name, reference, schema)
        watcher = ctx.assets.watched(name, WATCH_KEY)
        assert isinstance(watcher, _ChunkScan)
        ctx.assets.require_named_columns(name, list(watcher.scan.columns.get(name, {})))
        merged = watcher.scan if merged is None else merged.merge(watcher.scan)
    assert merged is not None
    return merged.result()


def run_privacy(ctx: CheckContext) -> CheckResult:
    scan = _scanned(ctx)
    log = ctx.params["deletion_log"]
    if log is None or scan.verdict == "fail":
        return scan
    spec = ctx.assets.dataset_spec("training")
    if spec.id is None:
        raise AssetError(
            f"[{spec.key}]: a deletion log needs the training data's id column (id = ...)"
        )
    path = ctx.root / log
    try:
        ids = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    except OSError as exc:
        raise AssetError(
            f"[tool.mltestscore.checks.data-5] deletion_log = {log!r}: cannot read {path}: {exc}"
        ) from None
    frame = ctx.assets.frame("training")
    ids_typed: list[Any] = ids
    if frame[spec.id].dtype.kind in "iu":
        ids_typed = [int(i) for i in ids if i.lstrip("-").isdigit()]
    deleted = deletion_log_check(frame, spec.id, ids_typed)
    if deleted.verdict == "fail":
        return deleted
    return CheckResult(
        scan.check,
        scan.verdict,
        f"{scan.summary}; {deleted.summary}",
        scan.table,
        "data-5",
        {**scan.metrics, **deleted.metrics},
        scan.notes + deleted.notes,
    )


PRIVACY = BuiltinCheck(
    "data-5",
    "privacy",
    "no raw PII in the data; deleted ids are gone from training",
    (dataset("training"),),
    run_privacy,
    (
        Param("allow_columns", "strings", None, "columns allowed to hold PII-like values"),
        Param("allow_values", "strings", None, "values never reported (e.g. a support address)"),
        Param(
            "min_share",
            "number",
            0.0,
            "share of a column's rows that must match before it is reported",
            0.0,
            1.0,
        ),
        Param(
            "deletion_log",
            "string",
            None,
            "file of ids (one per line) that must not be in the training data",
        ),
    ),
    kinds="string columns: categorical, text, identifier",
    declines="no string column to scan; an empty deletion log",
    watch=watch_privacy,
)
