"""Who and what a request is for: feature, prompt version, tenant, experiment variant and user, named by the
caller in an OpenAI request's `metadata` and `user` fields or in `X-Goldgate-*` headers (a header wins: a
gateway sets it). They go on spans; the user only as a salted hash, so no raw id is ever stored or
exported. Metrics take only the allow-listed, bounded labels: a label per user would be a series per user
(09 §5.4)."""

from __future__ import annotations

import hashlib
import hmac
import threading
from typing import Mapping

FEATURE, PROMPT_VERSION, TENANT, VARIANT = ("goldgate.feature", "goldgate.prompt.version", "goldgate.tenant",
                                            "goldgate.variant")
USER_HASH = "goldgate.user.hash"
PROMPT_SHA = "goldgate.prompt.sha256"  # the template an eval generation was rendered from

# metadata key or header suffix -> span attribute
FIELDS = {"feature": FEATURE, "prompt_version": PROMPT_VERSION, "tenant": TENANT, "variant": VARIANT}
HEADER_PREFIX = "x-goldgate-"

METRIC_LABELS = (FEATURE, VARIANT)  # the only attribution a metric may carry
MAX_LABEL_VALUES = 32  # distinct values per label before the rest are counted as OTHER
OTHER = "_other"


def user_hash(user: str, salt: bytes) -> str:
    """A stable pseudonym for `user`: HMAC-SHA-256 under the deployment's salt, 16 bytes in hex. Without the
    salt a hash cannot be matched back to an id by hashing guesses."""
    return hmac.new(salt, user.encode(), hashlib.sha256).hexdigest()[:32]


def request_attribution(metadata: Mapping[str, str] | None, user: str | None, headers: Mapping[str, str],
                        salt: bytes) -> dict[str, str]:
    """The span attributes a request names, from its body's `metadata` and `user` and its headers."""
    named = {k: v for k, v in (metadata or {}).items() if k in FIELDS or k == "user"}
    if user:
        named["user"] = user
    for key in (*FIELDS, "user"):
        header = headers.get(HEADER_PREFIX + key.replace("_", "-"))
        if header:
            named[key] = header
    out = {FIELDS[k]: v for k, v in named.items() if k in FIELDS}
    if named.get("user"):
        out[USER_HASH] = user_hash(named["user"], salt)
    return out


class BoundedLabels:
    """The metric labels of a span's attributes: only METRIC_LABELS, and at most MAX_LABEL_VALUES values of
    each (later newcomers read OTHER), so a caller cannot grow the series count without bound."""

    def __init__(self) -> None:
        self._seen: dict[str, set[str]] = {k: set() for k in METRIC_LABELS}
        self._lock = threading.Lock()

    def of(self, attributes: Mapping[str, object]) -> dict[str, str]:
        labels = {}
        with self._lock:
            for key in METRIC_LABELS:
                value = attributes.get(key)
                if isinstance(value, str):
                    seen = self._seen[key]
                    if value not in seen and len(seen) < MAX_LABEL_VALUES:
                        seen.add(value)
                    labels[key] = value if value in seen else OTHER
        return labels
