"""Redaction of captured message text: regular expressions for structured PII, high precision first.

Card numbers are replaced only when their digits pass the Luhn check, so order numbers and other
long digit runs survive. Teams add their own rules (`Redactor(rules=(*DEFAULT_RULES, my_rule))`).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Callable


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _is_card(match: re.Match[str]) -> bool:
    digits = re.sub(r"\D", "", match.group())
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def _is_ip(match: re.Match[str]) -> bool:
    try:
        ipaddress.ip_address(match.group())
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Rule:
    """Replace every match of `pattern` that `accept` agrees with by `[label]`."""

    label: str
    pattern: re.Pattern[str]
    accept: Callable[[re.Match[str]], bool] = lambda _: True


DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("EMAIL", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    Rule("CARD", re.compile(r"\b\d(?:[ -]?\d){12,18}\b"), _is_card),
    Rule("IP", re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b|\b(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{1,4}\b"), _is_ip),
    Rule("SSN", re.compile(r"\b\d{3}-\d{2}-\d{4}\b")),  # US social security number
    Rule("NATIONAL_ID", re.compile(r"\b[A-CEGHJ-PR-TW-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b")),  # UK NI number
    Rule("PHONE", re.compile(r"(?<![\w+])(?<!\d[ .-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\d{2,4}[ .-])"
                             r"\d{3,4}[ .-]?\d{3,4}\b(?![ .-]?\d)")),  # not part of a longer digit run
)


@dataclass(frozen=True)
class Redactor:
    rules: tuple[Rule, ...] = DEFAULT_RULES

    def __call__(self, text: str) -> str:
        for rule in self.rules:
            text = rule.pattern.sub(lambda m, r=rule: f"[{r.label}]" if r.accept(m) else m.group(), text)
        return text
