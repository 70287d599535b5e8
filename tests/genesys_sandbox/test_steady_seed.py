"""The steady history seeder (`history="steady"`): the same volume every year, no burst, real retention."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest

from genesys_sandbox.clock import SandboxClock
from genesys_sandbox.seed import seed_org
from genesys_sandbox.settings import SandboxSettings
from genesys_sandbox.views import analytics_conversation, external_contact
from tests.support.sandbox import FIXED_NOW, SANDBOX_ORG

# Each test seeds years of steady history (seconds of CPU each): the slow tier, not the inner loop.
pytestmark = pytest.mark.slow

STEADY = replace(SANDBOX_ORG, history="steady", customers=400, conversations=6000)


def _seed(settings: SandboxSettings = STEADY):
    return seed_org(settings, SandboxClock(settings.now))


def _per_year(org) -> list[int]:
    years = Counter((FIXED_NOW - c.start).days // 365 for c in org.conversations.values())
    return [years[year] for year in range(max(years) + 1)]


def test_every_year_of_history_holds_about_the_same_number_of_conversations():
    counts = _per_year(_seed())
    assert len(counts) == STEADY.years
    assert max(counts) <= min(counts) * 1.05


def test_conversations_per_day_sets_the_volume_of_every_year():
    settings = replace(STEADY, conversations_per_day=12, customers_per_year=300, yearly_churn=0.3, years=3)
    counts = _per_year(_seed(settings))
    assert sum(counts) == 12 * 365 * 3
    assert all(abs(count - 12 * 365) <= 12 * 365 * 0.03 for count in counts)


def test_no_conversation_is_active_unless_asked():
    org = _seed(replace(STEADY, conversations=20000, customers=1000))
    assert not [c for c in org.conversations.values() if c.active]


def test_active_conversations_seeds_exactly_that_many():
    org = _seed(replace(STEADY, active_conversations=7))
    assert sum(c.active for c in org.conversations.values()) == 7
    assert len(org.conversations) == STEADY.conversations


def test_expired_label_follows_the_retention_years_not_a_share_of_the_history():
    # legacy labels "expired" from min(retention, 0.75 * years): with 4 years of history, from 3 years
    org = _seed(replace(STEADY, years=4, retention_years=3))
    assert org.retention_cutoff == FIXED_NOW - timedelta(days=365 * 3)
    longer = _seed(replace(STEADY, years=4, retention_years=5))
    assert longer.retention_cutoff == FIXED_NOW - timedelta(days=365 * 5)
    assert not longer.customers_where(activity="expired")


def test_activity_labels_match_each_customers_last_contact():
    org = _seed()
    customers = org.customers_where(placeholder=False)
    for customer in customers:
        last = org.last_contact(customer)
        assert (customer.activity == "expired") == org.is_expired(customer)
        assert (customer.activity == "recent") == (last >= FIXED_NOW - timedelta(days=42))
    assert {c.activity for c in customers} == {"recent", "dormant", "expired"}


def test_churned_customers_stop_calling_and_new_ones_start_through_the_history():
    org = _seed()
    regular = org.customers_where(placeholder=False)
    firsts = Counter((FIXED_NOW - org.conversations_of(c)[0].start).days // 365 for c in regular)
    # new callers arrive in every year, not all in the oldest quarter
    assert all(firsts[year] > 0 for year in range(STEADY.years))
    assert firsts[STEADY.years - 1] < len(regular) * 0.55


def test_requested_sizes_are_met():
    org = _seed()
    assert len(org.customers) == STEADY.customers
    assert len(org.conversations) == STEADY.conversations


def test_every_customer_has_a_conversation():
    org = _seed()
    assert all(org.conversations_of(c) for c in org.customers.values())


def test_same_seed_gives_the_same_steady_org():
    def snapshot(org):
        return (
            [analytics_conversation(c) for c in org.iter_conversations()],
            [external_contact(c, org.division_id) for c in org.external_contacts.values()],
            [(c.id, c.activity) for c in org.customers.values()],
        )

    assert snapshot(_seed()) == snapshot(_seed())
    assert snapshot(_seed()) != snapshot(_seed(replace(STEADY, seed=8)))


@pytest.mark.parametrize(
    "field, value",
    [
        ("history", "bursty"),
        ("yearly_churn", 1.0),
        ("conversations_per_day", -1),
        ("active_conversations", -1),
    ],
)
def test_invalid_steady_settings_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        replace(STEADY, **{field: value})


def test_org_summary_reports_conversations_per_day_overall_and_per_year():
    history = _seed().summary()["history"]
    assert history["days"] == 365 * STEADY.years
    assert history["conversationsPerDay"] == pytest.approx(STEADY.conversations / (365 * STEADY.years), 0.01)
    by_year = history["conversationsPerDayByYear"]
    assert len(by_year) == STEADY.years
    assert max(by_year) <= min(by_year) * 1.05


def test_steady_history_keeps_real_data_shapes_and_divisions():
    org = _seed(replace(STEADY, data_shapes="real", divisions="Home,Billing,Sales"))
    conversations = list(org.conversations.values())
    assert any((c.customer_id or "").startswith("unattributed-") for c in conversations)
    assert len({c.division_id for c in conversations}) == 3
    assert len(conversations) == STEADY.conversations
