"""`GenesysClient`: the Genesys Cloud operations the erasure steps use, and nothing else.

The steps are typed against this Protocol, never against the Airflow hook: `GenesysCloudHook` satisfies
it structurally, and a test (or another runner) can hand the steps any client that talks to a Genesys
org. Keeping the list short is the point: a step that needs a new call adds it here first.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, Protocol


class JobPage(Protocol):
    """One page of an analytics conversation details job's results."""

    @property
    def conversations(self) -> list[dict[str, Any]]: ...


class ContactSearchResult(Protocol):
    """An external-contact search answer: the contacts, and whether they are all that matched."""

    @property
    def contacts(self) -> list[dict[str, Any]]: ...

    @property
    def complete(self) -> bool: ...

    @property
    def total(self) -> int | None: ...


class GenesysClient(Protocol):
    # Analytics: the retention scan and the conversations of named subjects.
    def get_data_availability(self) -> dict[str, Any]: ...

    def run_conversation_details_job(
        self, body: Mapping[str, Any], page_size: int = ...
    ) -> Iterator[JobPage]: ...

    def iter_conversation_details(
        self, body: Mapping[str, Any], page_size: int = ...
    ) -> Iterator[dict[str, Any]]: ...

    def get_conversations_details(self, conversation_ids: Iterable[str]) -> list[dict[str, Any]]: ...

    # Conversations: deferral of active ones, verification (the live view carries participant attributes).
    def disconnect_conversation(self, conversation_id: str) -> Any: ...

    def get_conversation(self, conversation_id: str) -> dict[str, Any]: ...

    def get_recording_metadata(self, conversation_id: str) -> list[dict[str, Any]]: ...

    def get_protected_conversation_ids(self, conversation_ids: Iterable[str]) -> set[str]: ...

    # Identity: resolution and verification.
    def search_gdpr_subjects(self, search_type: str, value: str) -> list[dict[str, Any]]: ...

    def search_external_contacts_checked(self, q: str, page_size: int = ...) -> ContactSearchResult: ...

    def get_external_contact(self, contact_id: str) -> dict[str, Any] | None: ...

    def scan_external_contacts(self, limit: int = ...) -> Iterator[dict[str, Any]]: ...

    def iter_users(self, state: str = ..., page_size: int = ...) -> Iterator[dict[str, Any]]: ...

    # GDPR requests: submission, crash reconciliation, the external-erasure listener.
    def submit_gdpr_request(
        self,
        request_type: str,
        subject: Mapping[str, Any],
        replacement_terms: list[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]: ...

    def iter_gdpr_requests(self, since: datetime | None = None) -> Iterator[dict[str, Any]]: ...

    # Not a Genesys operation: the runtime that owns the client releases its connections with it.
    def close(self) -> None: ...

    # Org facts: the purge's settings check reads the analytics data retention before anything else.
    def get_analytics_data_retention(self) -> dict[str, Any]: ...
