"""A local Genesys Cloud API sandbox: a real HTTP server with a seeded, realistic org.

    from genesys_sandbox import SandboxSettings, SandboxServer
    with SandboxServer(SandboxSettings(customers=40, conversations=300)) as sb:
        sb.base_url                  # http://127.0.0.1:<free port>
        sb.client_id, sb.client_secret
        sb.org                       # live org: inspect, or plant with add_customer / add_conversation
        sb.control                   # faults: set_error_rate_5xx, burst_429, revoke_tokens, advance_clock...

CLI: `python -m genesys_sandbox --port 8765 --seed 7 --customers 2000 --conversations 20000`.

Defaults (SandboxSettings): seed 7; 2,000 customers and 20,000 conversations over 6 years (seeds in ~2 s);
300 requests per token per 60-second fixed window; tokens live 86,400 s; GDPR requests move one status
step per second (0 = one step per GET); analytics jobs see data up to now - 36 h and are FULFILLED after
0.5 s; no latency, no injected 5xx; credentials `sandbox-client` / `sandbox-secret`; clock starts at the
real time unless `now` is given (then the seeded data is byte-for-byte repeatable).

Endpoints (real paths and JSON field names): POST /oauth/token; /api/v2/gdpr/{requests,requests/{id},
subjects}; /api/v2/analytics/conversations/details/{query,jobs,jobs/{id},jobs/{id}/results,
jobs/availability}, /api/v2/analytics/conversations/{id}/details, /api/v2/analytics/conversations/details?id=;
/api/v2/externalcontacts/contacts[/{id}] (GET search, GET, DELETE); /api/v2/conversations/{id},
/{id}/disconnect, /{id}/recordingmetadata; /api/v2/recordings/deletionprotection (POST, PUT ?protect=).
Admin (not Genesys): /sandbox/health, /sandbox/org/summary, /sandbox/org/customers, /sandbox/faults,
/sandbox/requests/counts, /sandbox/gdpr/exports/{id}.

Where the API reference is UNCONFIRMED the sandbox assumes (details in ASSUMPTIONS.md):
* POST /gdpr/requests answers 202; GDPR_DELETE without deleteConfirmed=true is a 400 (no preview);
* a completed delete REMOVES the subject's fields (no placeholder text), skips conversations that are still
  active, and keeps recordings under deletion protection (fileState unchanged); other recordings of the
  redacted conversations become fileState DELETED; external contacts holding the subject are deleted;
* analytics `matches` is exact (ani/dnis as `tel:+E164`), e-mails compare case-insensitively; jobs also
  match partial e-mail addresses; detail-query pageSize <= 100;
* DELETE external contact answers 200 `{}`; paged GDPR request list is newest first, pageSize <= 100;
* analytics jobs answer 202 and their dataAvailabilityDate (now - lag) moves in 15-minute steps.
"""

from genesys_sandbox.server import SandboxServer
from genesys_sandbox.settings import SandboxSettings

__all__ = ["SandboxServer", "SandboxSettings"]
