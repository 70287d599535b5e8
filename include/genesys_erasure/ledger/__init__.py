"""The erasure ledger: one row per subject, an enforced state machine, keyed hashes only.

Public surface (import from here): `Ledger` (open, plan, claim, record, settle, wipe), the row and plan
records, the states and their errors, and `create_ledger_engine` for code that shares the ledger's database
(the run workspace). The submodules are the ledger's own parts:

- `states`: subject states, sources, the allowed transitions and the ledger's errors;
- `records`: the immutable values going in (`SubjectPlan`) and out (`LedgerRow`, outcomes);
- `schema`: the tables; `sql`: engine set-up and the row-level statements the operations share;
- `store`: the `Ledger` itself; `rows`: loading rows into records;
- `reconcile`: matching subjects stuck in `submitting` against Genesys' requests;
- `external`: erasures made outside the pipeline (the listener).
"""

from genesys_erasure.ledger.records import (
    GDPR_DELETE,
    IdentifierHash,
    KnownRequest,
    LedgerRow,
    PlanOutcome,
    ReconcileOutcome,
    SkippedSubject,
    SubjectPlan,
    derive_subject_hash,
)
from genesys_erasure.ledger.sql import create_ledger_engine
from genesys_erasure.ledger.states import (
    FINAL_STATES,
    ConcurrentUpdate,
    IllegalTransition,
    LedgerError,
    SubjectSource,
    SubjectState,
    SubmissionRefused,
    UnknownSubject,
)
from genesys_erasure.ledger.store import Ledger

__all__ = [
    "FINAL_STATES",
    "GDPR_DELETE",
    "ConcurrentUpdate",
    "IdentifierHash",
    "IllegalTransition",
    "KnownRequest",
    "Ledger",
    "LedgerError",
    "LedgerRow",
    "PlanOutcome",
    "ReconcileOutcome",
    "SkippedSubject",
    "SubjectPlan",
    "SubjectSource",
    "SubjectState",
    "SubmissionRefused",
    "UnknownSubject",
    "create_ledger_engine",
    "derive_subject_hash",
]
