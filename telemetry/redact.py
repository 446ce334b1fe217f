"""Redaction of captured message text: regular expressions for credentials and structured PII, high
precision first.

Secrets go first, by the shapes their issuers give them (a prefix, an alphabet, a length), so a key
pasted into a prompt never reaches a span, an event or the store. An AWS secret key has no prefix: it
is redacted where it follows its name (`aws_secret_access_key = ...`). Card numbers are replaced only
when their digits pass the Luhn check, so order numbers and other long digit runs survive. Teams add
their own rules (`Redactor(rules=(*DEFAULT_RULES, my_rule))`).
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
    """Replace every match of `pattern` that `accept` agrees with by `[label]` (only its group `group`,
    when the pattern also matches the secret's name)."""

    label: str
    pattern: re.Pattern[str]
    accept: Callable[[re.Match[str]], bool] = lambda _: True
    group: int = 0

    def replace(self, match: re.Match[str]) -> str:
        if not self.accept(match):
            return match.group()
        whole, (start, end) = match.group(), (i - match.start() for i in match.span(self.group))
        return f"{whole[:start]}[{self.label}]{whole[end:]}"


SECRET_RULES: tuple[Rule, ...] = (
    Rule("PRIVATE_KEY", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----.*?"
                                   r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----", re.DOTALL)),
    Rule("JWT", re.compile(r"\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}")),
    Rule("ANTHROPIC_KEY", re.compile(r"\bsk-ant-[\w-]{20,}")),
    Rule("OPENAI_KEY", re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}")),
    Rule("AWS_ACCESS_KEY", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b")),
    Rule("AWS_SECRET_KEY", re.compile(r"(?i)\baws_?secret(?:_access)?_?key[\"']?\s*[:=]\s*[\"']?"
                                      r"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"), group=1),
    Rule("GITHUB_TOKEN", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})")),
    Rule("SLACK_TOKEN", re.compile(r"\bxox[abeoprs]-[A-Za-z0-9-]{10,}"
                                   r"|https://hooks\.slack\.com/services/[A-Za-z0-9/_-]+")),
    Rule("TOKEN", re.compile(r"(?i)\bbearer\s+([A-Za-z0-9._~+/-]{20,}=*)"), group=1),  # an Authorization header
)

PII_RULES: tuple[Rule, ...] = (
    Rule("EMAIL", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    Rule("CARD", re.compile(r"\b\d(?:[ -]?\d){12,18}\b"), _is_card),
    Rule("IP", re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b|\b(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{1,4}\b"), _is_ip),
    Rule("SSN", re.compile(r"\b\d{3}-\d{2}-\d{4}\b")),  # US social security number
    Rule("NATIONAL_ID", re.compile(r"\b[A-CEGHJ-PR-TW-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b")),  # UK NI number
    Rule("PHONE", re.compile(r"(?<![\w+])(?<!\d[ .-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\d{2,4}[ .-])"
                             r"\d{3,4}[ .-]?\d{3,4}\b(?![ .-]?\d)")),  # not part of a longer digit run
)

DEFAULT_RULES: tuple[Rule, ...] = (*SECRET_RULES, *PII_RULES)


@dataclass(frozen=True)
class Redactor:
    rules: tuple[Rule, ...] = DEFAULT_RULES

    def __call__(self, text: str) -> str:
        for rule in self.rules:
            text = rule.pattern.sub(rule.replace, text)
        return text
