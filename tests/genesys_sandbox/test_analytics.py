"""Analytics conversation details: field placement, query limits, filters, paging, jobs and data lag."""

from __future__ import annotations

from datetime import timedelta

from genesys_sandbox.clock import format_instant
from tests.support.sandbox import FIXED_NOW, ApiClient

QUERY = "/api/v2/analytics/conversations/details/query"
JOBS = "/api/v2/analytics/conversations/details/jobs"


def _interval(start, end):
    return f"{format_instant(start)}/{format_instant(end)}"


def _details(api, conversation_id):
    response = api.get(f"/api/v2/analytics/conversations/{conversation_id}/details")
    assert response.status_code == 200
    return response.json()


def _customer_session(conversation):
    party = next(p for p in conversation["participants"] if p["purpose"] in ("customer", "external"))
    return party, party["sessions"][0]


def _ani_filter(value):
    return [{"type": "or", "predicates": [{"type": "dimension", "dimension": "ani", "value": value}]}]


def test_inbound_voice_puts_the_caller_in_ani_and_an_own_number_in_dnis(api, fresh_sandbox):
    org = fresh_sandbox.org
    customer = org.add_customer(phones=["+442079460555"], emails=["in.bound@example.com"], name="Ina Bound")
    conversation_id = org.add_conversation(customer, media="voice", direction="inbound")
    party, session = _customer_session(_details(api, conversation_id))
    assert party["purpose"] == "customer"
    assert session["ani"] == "tel:+442079460555"
    assert session["dnis"].removeprefix("tel:") in org.channels.dids + org.channels.toll_free


def test_outbound_voice_puts_an_own_number_in_ani_and_the_customer_in_dnis(api, fresh_sandbox):
    org = fresh_sandbox.org
    customer = org.add_customer(phones=["+442079460556"], name="Otto Bound")
    conversation_id = org.add_conversation(customer, media="voice", direction="outbound")
    conversation = _details(api, conversation_id)
    party, session = _customer_session(conversation)
    assert conversation["originatingDirection"] == "outbound"
    assert party["purpose"] == "external"
    assert session["dnis"] == "tel:+442079460556"
    assert session["ani"].removeprefix("tel:") in org.channels.dids


def test_email_addresses_follow_the_direction(api, fresh_sandbox):
    org = fresh_sandbox.org
    customer = org.add_customer(emails=["mail.person@example.org"], name="Mail Person")
    inbound = _customer_session(_details(api, org.add_conversation(customer, media="email")))[1]
    outbound = _customer_session(
        _details(api, org.add_conversation(customer, media="email", direction="outbound"))
    )[1]
    assert inbound["addressFrom"] == "mail.person@example.org"
    assert inbound["addressTo"] in org.channels.email_addresses
    assert outbound["addressTo"] == "mail.person@example.org"
    assert outbound["addressFrom"] in org.channels.email_addresses


def test_callback_carries_the_callback_numbers(api, fresh_sandbox):
    org = fresh_sandbox.org
    customer = org.add_customer(phones=["+4930123456789"], name="Cal Back")
    _, session = _customer_session(_details(api, org.add_conversation(customer, media="callback")))
    assert session["mediaType"] == "callback"
    assert session["callbackNumbers"] == ["+4930123456789"]


def test_query_without_filters_longer_than_7_days_is_a_400(shared_api):
    body = {"interval": _interval(FIXED_NOW - timedelta(days=8), FIXED_NOW)}
    response = shared_api.post(QUERY, json=body)
    assert response.status_code == 400
    assert response.json()["code"] == "bad.request"
    assert response.json()["details"][0]["fieldName"] == "interval"


def test_query_with_filters_may_span_31_days_but_not_more(shared_api):
    filters = _ani_filter("tel:+442079460000")
    ok = {"interval": _interval(FIXED_NOW - timedelta(days=31), FIXED_NOW), "segmentFilters": filters}
    too_long = {"interval": _interval(FIXED_NOW - timedelta(days=32), FIXED_NOW), "segmentFilters": filters}
    assert shared_api.post(QUERY, json=ok).status_code == 200
    response = shared_api.post(QUERY, json=too_long)
    assert response.status_code == 400
    assert response.json()["details"][0]["fieldName"] == "interval"


def test_query_without_interval_is_a_400(shared_api):
    response = shared_api.post(QUERY, json={"segmentFilters": _ani_filter("tel:+1")})
    assert response.status_code == 400
    assert response.json()["details"][0]["fieldName"] == "interval"


def test_page_size_over_100_is_a_400(shared_api):
    body = {
        "interval": _interval(FIXED_NOW - timedelta(days=1), FIXED_NOW),
        "paging": {"pageSize": 101, "pageNumber": 1},
    }
    assert shared_api.post(QUERY, json=body).status_code == 400


def test_empty_result_has_no_conversations_key(shared_api):
    body = {
        "interval": _interval(FIXED_NOW - timedelta(days=7), FIXED_NOW),
        "segmentFilters": _ani_filter("tel:+1999"),
    }
    result = shared_api.post(QUERY, json=body).json()
    assert result == {"totalHits": 0}


def test_ani_predicate_matches_the_stored_tel_form_only(api, fresh_sandbox):
    org = fresh_sandbox.org
    customer = org.add_customer(phones=["+442079460557"], name="Tel Form")
    org.add_conversation(customer, start=FIXED_NOW - timedelta(days=2))
    interval = _interval(FIXED_NOW - timedelta(days=3), FIXED_NOW)
    tel = api.post(
        QUERY, json={"interval": interval, "segmentFilters": _ani_filter("tel:+442079460557")}
    ).json()
    bare = api.post(QUERY, json={"interval": interval, "segmentFilters": _ani_filter("+442079460557")}).json()
    assert tel["totalHits"] == 1
    assert bare["totalHits"] == 0


def test_query_pages_return_every_conversation_once(api, fresh_sandbox):
    org = fresh_sandbox.org
    customer = org.add_customer(phones=["+442079460558"], name="Many Calls")
    planted = {
        org.add_conversation(customer, start=FIXED_NOW - timedelta(days=3, minutes=n)) for n in range(7)
    }
    body = {
        "interval": _interval(FIXED_NOW - timedelta(days=4), FIXED_NOW),
        "segmentFilters": _ani_filter("tel:+442079460558"),
    }
    seen: list[str] = []
    for page in (1, 2, 3):
        body["paging"] = {"pageSize": 3, "pageNumber": page}
        result = api.post(QUERY, json=body).json()
        assert result["totalHits"] == 7
        seen += [c["conversationId"] for c in result.get("conversations", [])]
    assert sorted(seen) == sorted(planted)


def test_conversation_filter_finds_active_conversations(shared_api, shared_sandbox):
    active = {c.id for c in shared_sandbox.org.conversations.values() if c.active}
    body = {
        "interval": _interval(FIXED_NOW - timedelta(days=2), FIXED_NOW + timedelta(hours=1)),
        "conversationFilters": [
            {"type": "and", "predicates": [{"dimension": "conversationEnd", "operator": "notExists"}]}
        ],
        "paging": {"pageSize": 100, "pageNumber": 1},
    }
    result = shared_api.post(QUERY, json=body).json()
    assert active
    assert {c["conversationId"] for c in result["conversations"]} == active


def test_details_by_ids_and_by_path_are_routed_next_to_query_and_jobs(shared_api, shared_sandbox):
    ids = sorted(shared_sandbox.org.conversations)[:2]
    multi = shared_api.get("/api/v2/analytics/conversations/details", params={"id": ",".join(ids)}).json()
    assert sorted(c["conversationId"] for c in multi["conversations"]) == ids
    assert (
        shared_api.get(f"/api/v2/analytics/conversations/{ids[0]}/details").json()["conversationId"] == ids[0]
    )
    assert shared_api.get(f"{JOBS}/availability").status_code == 200
    assert shared_api.get("/api/v2/analytics/conversations/unknown-id/details").status_code == 404


def _run_job(api, body):
    submitted = api.post(JOBS, json=body)
    assert submitted.status_code == 202
    job_id = submitted.json()["jobId"]
    assert api.get(f"{JOBS}/{job_id}").json()["state"] == "FULFILLED"
    return job_id


def test_job_is_queued_until_fulfil_time_passes(sandbox_factory):
    sb = sandbox_factory(job_fulfil_seconds=30)
    api = ApiClient(sb)
    job_id = api.post(JOBS, json={"interval": _interval(FIXED_NOW - timedelta(days=30), FIXED_NOW)}).json()[
        "jobId"
    ]
    status = api.get(f"{JOBS}/{job_id}").json()
    assert status["state"] == "QUEUED"
    assert {"submissionDate", "expirationDate"} <= set(status)
    assert api.get(f"{JOBS}/{job_id}/results").status_code == 400
    sb.control.advance_clock(seconds=31)
    status = api.get(f"{JOBS}/{job_id}").json()
    assert status["state"] == "FULFILLED"
    assert "completionDate" in status


def test_jobs_hide_conversations_newer_than_the_data_availability_date(api, fresh_sandbox):
    org = fresh_sandbox.org
    customer = org.add_customer(phones=["+442079460559"], name="Lag Person")
    old = org.add_conversation(customer, start=FIXED_NOW - timedelta(days=3))
    new = org.add_conversation(customer, start=FIXED_NOW - timedelta(hours=2))
    body = {
        "interval": _interval(FIXED_NOW - timedelta(days=7), FIXED_NOW),
        "segmentFilters": _ani_filter("tel:+442079460559"),
    }
    job_id = _run_job(api, body)
    results = api.get(f"{JOBS}/{job_id}/results").json()
    assert [c["conversationId"] for c in results["conversations"]] == [old]
    assert new not in str(results)
    assert results["dataAvailabilityDate"] == format_instant(FIXED_NOW - timedelta(hours=36))


def test_jobs_include_conversations_active_during_the_interval(api, fresh_sandbox):
    org = fresh_sandbox.org
    customer = org.add_customer(emails=["long.thread@example.com"], name="Long Thread")
    start = FIXED_NOW - timedelta(days=10)
    conversation_id = org.add_conversation(
        customer, media="email", start=start, end=start + timedelta(days=2)
    )
    filters = [
        {"type": "and", "predicates": [{"dimension": "addressFrom", "value": "long.thread@example.com"}]}
    ]
    body = {
        "interval": _interval(start + timedelta(days=1), FIXED_NOW - timedelta(days=3)),
        "segmentFilters": filters,
    }
    results = api.get(f"{JOBS}/{_run_job(api, body)}/results").json()
    assert [c["conversationId"] for c in results["conversations"]] == [conversation_id]
    query = api.post(
        QUERY, json={**body, "interval": _interval(start + timedelta(days=1), start + timedelta(days=5))}
    )
    assert query.json()["totalHits"] == 0


def test_jobs_match_partial_email_addresses(api, fresh_sandbox):
    org = fresh_sandbox.org
    customer = org.add_customer(emails=["partial.match@example.com"], name="Partial Match")
    org.add_conversation(customer, media="email", start=FIXED_NOW - timedelta(days=5))
    filters = [{"type": "and", "predicates": [{"dimension": "addressFrom", "value": "partial.match@"}]}]
    body = {"interval": _interval(FIXED_NOW - timedelta(days=7), FIXED_NOW), "segmentFilters": filters}
    results = api.get(f"{JOBS}/{_run_job(api, body)}/results").json()
    assert len(results["conversations"]) == 1


def test_job_results_cursor_pages_return_every_conversation_once(shared_api, shared_sandbox):
    body = {"interval": _interval(FIXED_NOW - timedelta(days=3 * 365), FIXED_NOW)}
    job_id = _run_job(shared_api, body)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"pageSize": 40, **({"cursor": cursor} if cursor else {})}
        page = shared_api.get(f"{JOBS}/{job_id}/results", params=params).json()
        seen += [c["conversationId"] for c in page.get("conversations", [])]
        cursor = page.get("cursor")
        if not cursor:
            break
    availability = FIXED_NOW - timedelta(hours=36)
    expected = {
        c.id
        for c in shared_sandbox.org.conversations.values()
        if c.start < availability and (c.end is None or c.end >= FIXED_NOW - timedelta(days=3 * 365))
    }
    assert len(seen) == len(set(seen))
    assert set(seen) == expected


def test_unknown_dimension_is_a_400_naming_the_predicate(shared_api):
    filters = [{"type": "and", "predicates": [{"dimension": "callerNumber", "value": "x"}]}]
    body = {"interval": _interval(FIXED_NOW - timedelta(days=1), FIXED_NOW), "segmentFilters": filters}
    response = shared_api.post(QUERY, json=body)
    assert response.status_code == 400
    assert response.json()["details"][0]["fieldName"] == "segmentFilters[0].predicates[0].dimension"


def test_or_filter_finds_each_named_customer_and_and_filter_narrows(api, fresh_sandbox):
    org = fresh_sandbox.org
    first = org.add_customer(phones=["+442079460561"], emails=["first.one@example.com"], name="First One")
    second = org.add_customer(phones=["+442079460562"], name="Second One")
    start = FIXED_NOW - timedelta(days=2)
    voice_first = org.add_conversation(first, start=start)
    mail_first = org.add_conversation(first, media="email", start=start + timedelta(minutes=1))
    voice_second = org.add_conversation(second, start=start + timedelta(minutes=2))
    interval = _interval(FIXED_NOW - timedelta(days=3), FIXED_NOW)
    either = [
        {
            "type": "or",
            "predicates": [
                {"dimension": "ani", "value": "tel:+442079460561"},
                {"dimension": "ani", "value": "tel:+442079460562"},
                {"dimension": "addressFrom", "value": "FIRST.ONE@example.com"},
            ],
        }
    ]
    found = api.post(QUERY, json={"interval": interval, "segmentFilters": either}).json()["conversations"]
    assert {c["conversationId"] for c in found} == {voice_first, mail_first, voice_second}
    narrowed = [
        {
            "type": "and",
            "predicates": [
                {"dimension": "externalContactId", "value": first.external_contact_id},
                {"dimension": "mediaType", "value": "email"},
            ],
        }
    ]
    found = api.post(QUERY, json={"interval": interval, "segmentFilters": narrowed}).json()["conversations"]
    assert [c["conversationId"] for c in found] == [mail_first]
