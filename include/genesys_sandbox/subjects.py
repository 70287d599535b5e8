"""GET /api/v2/gdpr/subjects: who the org knows under a searched value.

* an external contact holding the value -> a subject with its externalContactId and ALL its e-mails, phones
  and name (this is how a fragmented identity is joined up);
* an agent (user) with that e-mail or name -> a subject with userId;
* otherwise, a value only seen in conversations -> a bare subject holding just that value;
* a value seen nowhere -> no entities.
"""

from __future__ import annotations

from typing import Any

from genesys_sandbox.identity import normalize_email, normalize_name, normalize_phone
from genesys_sandbox.model import Agent, ExternalContact
from genesys_sandbox.org import Org, index_key


def search_subjects(org: Org, search_type: str, value: str) -> list[dict[str, Any]]:
    with org.lock:
        if search_type == "EMAIL":
            return _by_email(org, value)
        if search_type == "PHONE":
            return _by_phone(org, value)
        if search_type == "NAME":
            return _by_name(org, value)
        if search_type == "EXTERNAL_ID":
            contact = org.external_contacts.get(value.strip())
            return [contact_subject(contact)] if contact else []
        key = index_key(value)
        if org.conversation_ids_with(key):
            return [{"addresses": [value.strip()]}]
        return []


def _by_email(org: Org, value: str) -> list[dict[str, Any]]:
    wanted = normalize_email(value)
    subjects = [contact_subject(c) for c in _sorted(org.external_contacts_holding(wanted))]
    subjects += [agent_subject(a) for a in _agents(org) if a.email and normalize_email(a.email) == wanted]
    if not subjects and org.conversation_ids_with(wanted):
        subjects.append({"emailAddresses": [value.strip()]})
    return subjects


def _by_phone(org: Org, value: str) -> list[dict[str, Any]]:
    wanted = normalize_phone(value)
    if not wanted:
        return []
    subjects = [contact_subject(c) for c in _sorted(org.external_contacts_holding(wanted))]
    if not subjects and org.conversation_ids_with(wanted):
        subjects.append({"phoneNumbers": [wanted]})
    return subjects


def _by_name(org: Org, value: str) -> list[dict[str, Any]]:
    wanted = normalize_name(value)
    contacts = [c for c in org.external_contacts.values() if normalize_name(c.full_name) == wanted]
    subjects = [contact_subject(c) for c in _sorted(contacts)]
    subjects += [agent_subject(a) for a in _agents(org) if a.name and normalize_name(a.name) == wanted]
    if not subjects and org.conversation_ids_with("name:" + wanted):
        subjects.append({"name": value.strip()})
    return subjects


def _sorted(contacts: list[ExternalContact]) -> list[ExternalContact]:
    return sorted(contacts, key=lambda c: c.id)


def _agents(org: Org) -> list[Agent]:
    return sorted(org.agents.values(), key=lambda a: a.id)


def contact_subject(contact: ExternalContact) -> dict[str, Any]:
    subject: dict[str, Any] = {"externalContactId": contact.id}
    if contact.full_name:
        subject["name"] = contact.full_name
    if contact.phones:
        subject["phoneNumbers"] = list(contact.phones)
    if contact.emails:
        subject["emailAddresses"] = list(contact.emails)
    return subject


def agent_subject(agent: Agent) -> dict[str, Any]:
    subject: dict[str, Any] = {"userId": agent.id}
    if agent.name:
        subject["name"] = agent.name
    if agent.email:
        subject["emailAddresses"] = [agent.email]
    return subject
