"""The residual-data disclosure names the Genesys stores the pipeline does not verify."""

from __future__ import annotations

import pytest

from genesys_erasure.residual_data import RESIDUAL_DATA_DISCLOSURE

UNVERIFIED_GENESYS_STORES = (
    "voicemail",
    "e-mail bodies and attachments",
    "transcripts",
    "speech analytics",
    "quality evaluations",
    "surveys",
    "outbound",
    "contact lists",
    "data tables",
    "web-messaging guest",
    "journey",
)


@pytest.mark.parametrize("store", UNVERIFIED_GENESYS_STORES)
def test_disclosure_names_each_genesys_store_the_pipeline_does_not_verify(store):
    text = " ".join(item["text"] for item in RESIDUAL_DATA_DISCLOSURE).lower()
    assert store in text


def test_disclosure_says_what_verification_did_read():
    unverified = next(i for i in RESIDUAL_DATA_DISCLOSURE if "does not verify" in i["topic"])
    for verified in ("analytics conversation details", "recording metadata", "external contacts"):
        assert verified in unverified["text"]


def test_disclosure_says_participant_data_of_the_subjects_conversations_is_verified_and_what_is_not():
    unverified = next(i for i in RESIDUAL_DATA_DISCLOSURE if "does not verify" in i["topic"])
    read, _, not_read = unverified["text"].partition("did not check them")
    assert "participant data (attributes)" in read and "counted in the report" in read
    assert "Participant data outside the subject's conversations: attributes" in not_read


def test_every_disclosure_item_is_a_topic_and_a_text():
    assert all(set(item) == {"topic", "text"} for item in RESIDUAL_DATA_DISCLOSURE)


def test_disclosure_says_participant_data_and_unidentified_contacts_are_not_linked():
    text = " ".join(item["text"] for item in RESIDUAL_DATA_DISCLOSURE).lower()
    assert "participant data" in text and "withheld" in text and "channel ids" in text
