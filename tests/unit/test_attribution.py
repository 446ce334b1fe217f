"""Attribution: what a request names (metadata, user, X-Goldgate-* headers) becomes span attributes, the
user only as a keyed hash; metrics take only feature and variant, and only so many values of each."""

from __future__ import annotations

import hashlib
import hmac

from telemetry.attribution import MAX_LABEL_VALUES, OTHER, BoundedLabels, request_attribution

SALT = b"deployment salt"


def test_metadata_user_and_headers_become_attributes_with_the_user_hashed() -> None:
    got = request_attribution({"feature": "search", "prompt_version": "v3", "colour": "blue"}, "alice@example.com",
                              {"x-goldgate-variant": "b", "x-goldgate-feature": "answers"}, SALT)
    expected_hash = hmac.new(SALT, b"alice@example.com", hashlib.sha256).hexdigest()[:32]
    assert got == {"goldgate.feature": "answers", "goldgate.prompt.version": "v3", "goldgate.variant": "b",
                   "goldgate.user.hash": expected_hash}  # the header wins; unknown metadata stays out
    assert "alice@example.com" not in str(got)
    other_salt = request_attribution(None, "alice@example.com", {}, b"another deployment")
    assert other_salt["goldgate.user.hash"] != expected_hash  # no hash is matched across deployments


def test_metric_labels_are_allow_listed_and_bounded() -> None:
    labels = BoundedLabels()
    assert labels.of({"goldgate.feature": "search", "goldgate.tenant": "acme", "goldgate.user.hash": "ab"}) == \
        {"goldgate.feature": "search"}
    for i in range(MAX_LABEL_VALUES + 5):
        labels.of({"goldgate.variant": f"v{i}"})
    assert labels.of({"goldgate.variant": "v0"}) == {"goldgate.variant": "v0"}  # known before the cap: kept
    assert labels.of({"goldgate.variant": f"v{MAX_LABEL_VALUES + 1}"}) == {"goldgate.variant": OTHER}
