"""Resource families: which calls share a rate-limit bucket at Genesys, as the client groups them.

Genesys limits are layered: the token's own limit, and per-resource limits with their own
`inin-ratelimit-allowed` (values UNCONFIRMED), plus org-wide quotas such as the GDPR namespace's. The client
keys what it learns from a 429 by family, so a GDPR quota holding back new GDPR requests for an hour does
not hold back reading their statuses, or anything else on the same token. Families are coarse on purpose:
the first path segment after `/api/v2` (`gdpr`, `analytics`, `externalcontacts`, …), with creating GDPR
requests apart from reading them (the quota counts creations).
"""

from __future__ import annotations

API_PREFIX = "/api/v2/"
GDPR_CREATE = "gdpr.requests.create"


def resource_family(method: str, path: str) -> str:
    """The family of `METHOD path` (query string and ids do not matter)."""
    bare = path.split("?", 1)[0]
    if bare.startswith("/oauth/"):
        return "oauth"
    if not bare.startswith(API_PREFIX):
        return "other"
    segments = [s for s in bare[len(API_PREFIX) :].split("/") if s]
    if not segments:
        return "other"
    if method.upper() == "POST" and segments[:2] == ["gdpr", "requests"] and len(segments) == 2:
        return GDPR_CREATE
    return segments[0]
