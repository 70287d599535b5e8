"""The DSR form values and the GDPR one-month deadline."""

from __future__ import annotations

from datetime import date

import pytest

from genesys_erasure.dsr import DsrError, DsrRequest, ErasureMode, add_one_month, check_mode_allows

TODAY = date(2026, 11, 26)


def _params(**overrides):
    return {"ticket": "DSR-2026-0042", "received_on": "2026-11-01", **overrides}


def test_due_date_is_one_calendar_month_after_receipt():
    assert add_one_month(date(2026, 3, 15)) == date(2026, 4, 15)


def test_due_date_of_a_request_received_on_the_31st_is_the_last_day_of_the_next_month():
    assert add_one_month(date(2027, 1, 31)) == date(2027, 2, 28)


def test_due_date_rolls_over_the_year():
    assert add_one_month(date(2026, 12, 20)) == date(2027, 1, 20)


def test_pseudonymise_mode_is_a_gdpr_update():
    request = DsrRequest.from_params(_params(mode="pseudonymise"), today=TODAY)
    assert request.mode is ErasureMode.PSEUDONYMISE and request.request_type == "GDPR_UPDATE"


def test_missing_ticket_is_refused_by_field():
    with pytest.raises(DsrError) as caught:
        DsrRequest.from_params(_params(ticket=None), today=TODAY)
    assert caught.value.field == "ticket"


def test_receipt_date_in_the_future_is_refused():
    with pytest.raises(DsrError) as caught:
        DsrRequest.from_params(_params(received_on="2026-12-01"), today=TODAY)
    assert caught.value.field == "received_on"


def test_unparseable_receipt_date_is_refused():
    with pytest.raises(DsrError) as caught:
        DsrRequest.from_params(_params(received_on="1 Nov"), today=TODAY)
    assert caught.value.field == "received_on"


def test_replacement_text_with_markup_is_refused():
    with pytest.raises(DsrError) as caught:
        DsrRequest.from_params(_params(replacement_text="<b>x</b>"), today=TODAY)
    assert caught.value.field == "replacement_text"


def test_pseudonymise_mode_refuses_subjects_known_only_by_an_id():
    with pytest.raises(DsrError) as caught:
        check_mode_allows(["email", "user_id"], ErasureMode.PSEUDONYMISE)
    assert caught.value.field == "mode"


def test_delete_mode_accepts_user_ids():
    check_mode_allows(["user_id"], ErasureMode.DELETE)
