"""What an erasure through the Genesys Cloud GDPR API does NOT erase: the disclosure every run report and
erasure certificate carries, so that nobody reads "verified" as "gone from everywhere".

Written for the data subject's request handler and for an auditor: plain words, what is kept, by whom,
why, and what follows.
"""

from __future__ import annotations

# What verification re-reads after Genesys reports a request COMPLETED (steps/verify.py); everything else
# in Genesys Cloud is named in GENESYS_UNVERIFIED_STORES, so the reader sees both sides of the line.
VERIFIED_GENESYS_DATA = (
    "the analytics conversation details of the conversations found for the subject (the most recent ones, "
    "up to the configured number per identifier): participants, sessions, addresses and callback numbers",
    "the recording metadata of those conversations (whether each recording was deleted)",
    "the external contacts found by searching the subject's e-mail addresses and phone numbers",
    "the live conversation view of those conversations, including the participant data (attributes) that "
    "call flows store, such as an e-mail address or callback number the caller typed; it is read once the "
    "other checks have passed, and conversations whose view could not be read (a missing permission, a "
    "conversation Genesys no longer returns, or the check turned off) are counted in the report, per reason, "
    "as not verified",
)

GENESYS_UNVERIFIED_STORES: tuple[dict[str, str], ...] = (
    {
        "store": "Participant data outside the subject's conversations",
        "text": (
            "attributes of conversations not found for the subject (for example one where the person's "
            "address appears only in participant data), and participant data of conversations beyond the "
            "number of recent conversations kept per identifier"
        ),
    },
    {
        "store": "Voicemail",
        "text": "voicemail messages and their transcriptions, in user, group and queue mailboxes",
    },
    {
        "store": "E-mail bodies and attachments",
        "text": "the text, headers and attachments of e-mail conversations (only the addresses are checked)",
    },
    {
        "store": "Transcripts and speech analytics",
        "text": "voice transcripts, speech and text analytics topics and sentiment, and message transcripts",
    },
    {
        "store": "Quality evaluations and surveys",
        "text": "quality evaluations, evaluator comments, calibrations and customer survey answers",
    },
    {
        "store": "Outbound contact lists",
        "text": "rows of outbound dialling campaign contact lists and do-not-contact lists",
    },
    {
        "store": "Architect data tables",
        "text": "rows of data tables that flows write to or look up (for example caller lists)",
    },
    {
        "store": "Web-messaging guests",
        "text": "web-messaging and chat guest sessions, their typed names, e-mails and message history",
    },
    {
        "store": "Journey data",
        "text": "predictive-engagement and journey records: web sessions, events, visitor profiles",
    },
)


def _unverified_stores_text() -> str:
    stores = "; ".join(f"{item['store']}: {item['text']}" for item in GENESYS_UNVERIFIED_STORES)
    return (
        "Verification after the erasure re-read only: "
        + "; ".join(VERIFIED_GENESYS_DATA)
        + ". The Genesys GDPR API may erase data in other Genesys Cloud stores as well, but this pipeline "
        "did not check them, so no statement is made about them: "
        + stores
        + ". Whether the subject's data was removed there must be checked in Genesys Cloud itself."
    )


RESIDUAL_DATA_DISCLOSURE: tuple[dict[str, str], ...] = (
    {
        "topic": "Genesys Cloud data this pipeline does not verify",
        "text": _unverified_stores_text(),
    },
    {
        "topic": "Participant data and unidentified contacts",
        "text": (
            "Participant data (attributes) that call flows store with a conversation, such as an e-mail "
            "address or callback number the caller typed, is read by the retention run as evidence of "
            "contact only: a person known only from such data is not erased by it, and a subject search "
            "finds a conversation that names the subject only there when it is a phone number written "
            "with its country code, not otherwise. Whether a GDPR erasure clears participant data is not "
            "documented: where verification finds the subject's value still in it, the subject is not "
            "reported verified but left for review, because a repeated request would not reach it. "
            "Calls from withheld or anonymous numbers, and messages from social or web-messaging channel "
            "ids, carry no address that identifies the person, so they are not linked to the subject."
        ),
    },
    {
        "topic": "Carrier, SIP and trunk records",
        "text": (
            "Telephone carriers and SIP trunk providers (including Bring-Your-Own-Carrier trunks) keep "
            "signalling logs and call detail records with the calling and called numbers, and Genesys keeps "
            "SIP and edge logs for troubleshooting. The Genesys Cloud GDPR API does not reach these records. "
            "They are held by those parties under their own retention periods and legal obligations (for "
            "example telecommunications data-retention law); a request to erase them must be made to them."
        ),
    },
    {
        "topic": "Telephony billing metadata",
        "text": (
            "Usage and billing records of Genesys Cloud Voice and other metered services (numbers, call "
            "times, durations) are kept by Genesys and by carriers for invoicing, tax and regulatory "
            "purposes. The GDPR API does not erase them."
        ),
    },
    {
        "topic": "Systems not mapped to this pipeline",
        "text": (
            "Only the systems listed as covered were processed. Copies of the data in systems that are not "
            "mapped here are not erased by this run: CRM and ticketing tools, workforce-management and "
            "quality-management tools, e-mail mailboxes, recordings or transcripts that were exported or "
            "downloaded, targets of Genesys data actions and integrations, spreadsheets, and analytics "
            "exports other than the configured warehouse tables. Their owners remain responsible for them."
        ),
    },
    {
        "topic": "Backups and recovery windows",
        "text": (
            "Backups are not rewritten. Genesys platform backups, and warehouse time-travel and fail-safe "
            "storage, keep erased data until they expire; the warehouse section gives, per table, the date "
            "after which the deleted rows can no longer be recovered. Any data restored from a backup "
            "before that date must be erased again."
        ),
    },
    {
        "topic": "Legal holds",
        "text": (
            "Recordings of conversations under Genesys deletion protection (legal hold) are kept, as "
            "permitted by Art. 17(3)(e) GDPR (establishment, exercise or defence of legal claims), and are "
            "listed as exemptions by recording id. They must be erased once the hold is lifted."
        ),
    },
    {
        "topic": "Data-lake lag and active conversations",
        "text": (
            "Genesys analytics can trail live data by up to about 48 hours, and conversations still in "
            "progress cannot be erased. Verification checks the data available at its own time; subjects "
            "with active conversations are deferred and verified again in a later run."
        ),
    },
    {
        "topic": "This evidence",
        "text": (
            "To demonstrate the erasure (accountability, Art. 5(2) GDPR) the erasure ledger and this "
            "document keep keyed hashes (HMAC-SHA256) of the identifiers, Genesys request ids and "
            "conversation ids, but no names, e-mail addresses or phone numbers. The hashes cannot be "
            "reversed without the secret key, which is not part of the evidence. Encrypted copies of the "
            "identifiers are held only while work is pending (for a failed subject, until a later nightly "
            "run tries it again or gives it up, at most until its erasure attempts are used up; while the "
            "nightly schedule is paused they stay encrypted) and wiped when the subject reaches its final "
            "state; in a PostgreSQL ledger, superseded row versions persist until the "
            "table is vacuumed."
        ),
    },
)
