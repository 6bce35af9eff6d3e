"""Redaction at the door: personal data in message text, rating comments and page URLs is
replaced by a typed placeholder before an event is journalled or stored (docs/privacy.md).

Kinds: `card` (payment card numbers: 13-19 digits, a card network's leading digit, Luhn
check), `iban` (ISO 13616 check digits and country format, python-stdnum), `email`, `phone`
(Google's libphonenumber through `phonenumbers`: a number valid in one of the regions tried,
or written internationally with +), and custom regular expressions an admin names. Each is
replaced by `[card]`, `[iban]`, `[email]`, `[phone]` or `[custom:NAME]`.

The scan is cheap for text without digits or `@`: the detectors that need them are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import phonenumbers
from stdnum import iban, luhn

KINDS = ("card", "iban", "email", "phone")
"""The built-in kinds, in the order their matches win an overlap."""
DEFAULT_KINDS = ("card",)
"""On in a new workspace: card numbers never belong in a chat history."""
PHONE_REGIONS = ("FI", "SE", "FR", "ID", "GB", "US")
"""Regions whose national formats are tried (the UI languages' countries, then English's)."""
MAX_PHONE_RUNS = 40
MAX_PHONE_DIGITS = 1200
"""A text with more runs of 7+ digits than this, or more characters in them, has every such
run redacted as [phone] without asking libphonenumber (bounded time on hostile input)."""
PHONE_WINDOW = 320
PHONE_OVERLAP = 64
"""Long texts are searched for phone numbers in windows of PHONE_WINDOW characters that
overlap by PHONE_OVERLAP (longer than any phone number as written)."""
FIELDS = ("text", "comment", "page_url")
"""The row fields scanned."""
PATTERN_NAME = re.compile(r"^[a-z0-9_-]{1,40}$")

# bounded parts (RFC 5321: 64 before the @, 63 per label): linear on hostile 64 KiB texts
_EMAIL = re.compile(r"[\w.%+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){0,8}\.[^\W\d_]{2,24}")
# 13-19 digits, single spaces or dashes between them
_CARD = re.compile(r"(?<![\w.,])\d(?:[ -]?\d){12,18}(?![\w]|[.,]\d)")
# 2 letters, 2 check digits, then the account: compact or in groups of four
_IBAN = re.compile(r"\b[A-Za-z]{2}\d{2}(?:[ ]?[A-Za-z0-9]){11,30}\b")
_DIGIT_RUN = re.compile(r"\d(?:[\s().\-/]{0,3}\d){6,}")
_SPLIT = re.compile(r"[ ]")
_TIME_RANGE = re.compile(r"\d{1,2}[.:]\d{2}\s*[-\u2013]\s*\d{1,2}[.:]\d{2}")
_SEPARATOR = re.compile(r"[ -]")
_GROUP = re.compile(r"\d+")
_CARD_LENGTHS = {"2": (16,), "3": (14, 15, 16, 19), "4": (13, 16, 19), "5": (16, 19)}
_CARD_LENGTHS["6"] = (16, 17, 18, 19)


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str

    @property
    def placeholder(self) -> str:
        return f"[{self.kind}]"


def _is_card(digits: str) -> bool:
    return len(digits) in _CARD_LENGTHS.get(digits[0], ()) and luhn.is_valid(digits)


def _cards(text: str) -> Iterable[Span]:
    for match in _CARD.finditer(text):
        # the run may hold a neighbouring number ("4111 1111 1111 1111 12/27"): the widest
        # stretch of whole groups that is a card number
        found = match.group()
        groups = [(m.start(), m.end()) for m in _GROUP.finditer(found)]
        digits = [0]
        for a, b in groups:
            digits.append(digits[-1] + b - a)
        stretches = [
            (i, j)
            for i in range(len(groups))
            for j in range(i, len(groups))
            if 13 <= digits[j + 1] - digits[i] <= 19
        ]
        for i, j in sorted(stretches, key=lambda ij: ij[0] - ij[1]):
            a, b = groups[i][0], groups[j][1]
            if _is_card(_SEPARATOR.sub("", found[a:b])):
                yield Span(match.start() + a, match.start() + b, "card")
                break


def _ibans(text: str) -> Iterable[Span]:
    for match in _IBAN.finditer(text):
        # the match may run on into the next words: the longest prefix that is an IBAN
        cuts = [m.start() for m in _SPLIT.finditer(match.group())] + [len(match.group())]
        for cut in reversed(cuts):
            candidate = match.group()[:cut]
            if len(candidate) >= 15 and iban.is_valid(candidate.upper()):
                yield Span(match.start(), match.start() + cut, "iban")
                break


def _emails(text: str) -> Iterable[Span]:
    for match in _EMAIL.finditer(text):
        yield Span(match.start(), match.end(), "email")


def _windows(size: int) -> list[tuple[int, int]]:
    """Overlapping stretches of a text that together hold every phone number whole (a
    number is shorter than the overlap): libphonenumber's matcher slows down more than
    linearly on a long text full of numbers."""
    if size <= PHONE_WINDOW:
        return [(0, size)]
    step = PHONE_WINDOW - PHONE_OVERLAP
    return [(a, min(a + PHONE_WINDOW, size)) for a in range(0, size - PHONE_OVERLAP, step)]


def _phones(text: str, regions: tuple[str, ...], known: list[Span]) -> Iterable[Span]:
    """Numbers libphonenumber finds valid in one of `regions` (international ones in any).
    In each window the regions are tried in turn until every run of digits is inside a
    number found (or in `known`, the cards and IBANs found before); a run like opening hours
    ("09.00-17.00", a valid Jakarta number) is not taken."""
    leniency = phonenumbers.Leniency.VALID
    taken = bytearray(len(text))
    for span in known:
        taken[span.start : span.end] = b"\x01" * (span.end - span.start)
    found: list[Span] = []
    runs = [(m.start(), m.end()) for m in _DIGIT_RUN.finditer(text)]
    if len(runs) > MAX_PHONE_RUNS or sum(b - a for a, b in runs) > MAX_PHONE_DIGITS:
        # too many numbers to ask libphonenumber about each in good time (a few ms per
        # number and region): every run of digits not known already goes, to be safe
        return [Span(a, b, "phone") for a, b in runs if not any(taken[a:b])]
    windows = _windows(len(text))
    for w, (lo, hi) in enumerate(windows):
        part = text[lo:hi]
        runs = [(lo + m.start(), lo + m.end()) for m in _DIGIT_RUN.finditer(part)]
        if not runs:
            continue
        # a number touching a cut is whole in the neighbouring window
        first_ok = lo if w == 0 else lo + 2
        last_ok = hi if w == len(windows) - 1 else hi - 2
        for region in regions:
            for match in phonenumbers.PhoneNumberMatcher(part, region, leniency=leniency):
                start, end = lo + match.start, lo + match.end
                if start < first_ok or end > last_ok or any(taken[start:end]):
                    continue
                if _TIME_RANGE.fullmatch(match.raw_string):
                    continue
                taken[start:end] = b"\x01" * (end - start)
                found.append(Span(start, end, "phone"))
            inner = [(max(a, first_ok), min(b, last_ok)) for a, b in runs]
            if all(all(taken[a:b]) for a, b in inner if a < b):
                break
    return found


class Redactor:
    """The compiled redaction rules of one workspace."""

    def __init__(
        self,
        kinds: Iterable[str] = DEFAULT_KINDS,
        patterns: Mapping[str, str] | None = None,
        regions: tuple[str, ...] = PHONE_REGIONS,
    ):
        self.kinds = frozenset(kinds)
        self.regions = regions
        self.patterns = {
            f"custom:{name}": re.compile(pattern) for name, pattern in (patterns or {}).items()
        }

    @property
    def active(self) -> bool:
        return bool(self.kinds or self.patterns)

    def spans(self, text: str) -> list[Span]:
        """The personal data found in `text`, without overlaps, in order."""
        found: list[Span] = []
        has_at = "@" in text
        digits = _DIGIT_RUN.search(text) is not None
        if "email" in self.kinds and has_at:
            found.extend(_emails(text))
        if "iban" in self.kinds and digits:
            found.extend(_ibans(text))
        if "card" in self.kinds and digits:
            found.extend(_cards(text))
        if "phone" in self.kinds and digits:
            found.extend(_phones(text, self.regions, found))
        for kind, pattern in self.patterns.items():
            found.extend(Span(m.start(), m.end(), kind) for m in pattern.finditer(text) if m.end())
        chosen: list[Span] = []
        taken = bytearray(len(text))
        for span in found:  # earlier kinds win an overlap
            if span.end > span.start and not any(taken[span.start : span.end]):
                taken[span.start : span.end] = b"\x01" * (span.end - span.start)
                chosen.append(span)
        return sorted(chosen, key=lambda s: s.start)

    def text(self, text: str) -> str:
        """`text` with each span found replaced by its placeholder."""
        spans = self.spans(text)
        if not spans:
            return text
        parts, at = [], 0
        for span in spans:
            parts.append(text[at : span.start])
            parts.append(span.placeholder)
            at = span.end
        parts.append(text[at:])
        return "".join(parts)

    def url(self, url: str) -> str:
        """A page URL redacted; percent-encoded personal data (`%40` in an email) is found
        in the decoded URL, which is then what is kept."""
        redacted = self.text(url)
        if redacted == url and "%" in url:
            decoded = unquote(url)
            again = self.text(decoded)
            return again if again != decoded else url
        return redacted

    def row(self, row: dict[str, Any]) -> dict[str, Any]:
        """A store row with its text, comment and page URL redacted (in place)."""
        for name in FIELDS:
            value = row.get(name)
            if isinstance(value, str) and value:
                row[name] = self.url(value) if name == "page_url" else self.text(value)
        return row

    def rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.active:
            for row in rows:
                self.row(row)
        return rows


def check_kinds(kinds: Iterable[str]) -> list[str]:
    """The kinds, each known and once, in the built-in order; ValueError names a stranger."""
    given = list(kinds)
    for kind in given:
        if kind not in KINDS:
            raise ValueError(f"{kind!r} is not a kind of personal data; known: {', '.join(KINDS)}")
    return [k for k in KINDS if k in given]


def check_patterns(patterns: Mapping[str, str]) -> dict[str, str]:
    """Custom patterns by name; ValueError names the pattern that is not a usable regex."""
    for name, pattern in patterns.items():
        if not PATTERN_NAME.match(name):
            raise ValueError(
                f"pattern name {name[:60]!r}: use 1-40 lower-case letters, digits, _ or -"
            )
        if not isinstance(pattern, str) or not pattern:
            raise ValueError(f"pattern {name!r}: expected a non-empty regular expression")
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"pattern {name!r} is not a valid regular expression: {exc}") from None
        if compiled.match(""):
            raise ValueError(f"pattern {name!r} matches the empty text; it must match something")
    return dict(patterns)
