"""The customer back office: the list, a customer's page, tags and notes, segment
settings, and saved segments' export and coupon issuing."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from crm import segments
from crm.models import CustomerNote, CustomerProfile, SavedSegment, Segment, SegmentSettings, Tag
from distributors.models import CustomerBinding
from marketing.models import CouponClaim

pytestmark = pytest.mark.django_db

D = Decimal
CUSTOMERS = reverse("admin:crm_customerprofile_changelist")
SAVED_SEGMENTS = reverse("admin:crm_savedsegment_changelist")


def page_of(user) -> str:
    return reverse("admin:crm_customerprofile_change", args=[user.pk])


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


@pytest.fixture
def customer(make_user, make_order):
    """王小明: two paid orders (one partly refunded) and a cancelled one."""
    user = make_user("xiaoming", first_name="小明", last_name="王", phone="13912345678")
    make_order(user, "1299.00", paid_days_ago=3)
    make_order(user, "300.00", paid_days_ago=50, refunded="100.00", status="partially_refunded")
    make_order(user, "88.00", status="cancelled")
    segments.refresh_profiles(user_ids=[user.pk])
    return user


@pytest.fixture
def hotel(db):
    return Tag.objects.create(name="酒店", name_en="Hotel", color="#b07c00")


# --- the customer list ----------------------------------------------------------------


def test_the_list_shows_phone_segment_orders_spent_and_tags(admin_client, customer, hotel):
    CustomerProfile.objects.get(user=customer).tags.add(hotel)

    page = admin_client.get(CUSTOMERS).text

    assert "xiaoming" in page and "王小明" in page
    assert "13912345678" in page  # staff see the full number
    assert 'class="segment-badge segment-active"' in page
    assert "¥1,499.00" in page  # 1299 + 300 paid, less 100 refunded
    assert "Hotel" in page  # the tag's name in the reader's language


def test_the_list_finds_customers_by_phone(admin_client, customer, make_user):
    make_user("someone", phone="13700000000")
    segments.refresh_profiles()

    page = admin_client.get(CUSTOMERS, {"q": "1391234"}).text

    assert "xiaoming" in page and "someone" not in page


def test_the_list_takes_the_same_queries_for_few_and_many_customers(
    admin_client, make_user, make_order, hotel, django_assert_max_num_queries
):
    def add_customers(start, count):
        for n in range(start, start + count):
            user = make_user(f"c{n}")
            make_order(user, "100.00", paid_days_ago=n)
        segments.refresh_profiles()
        for profile in CustomerProfile.objects.all():
            profile.tags.add(hotel)

    add_customers(0, 2)
    with django_assert_max_num_queries(14) as few:
        admin_client.get(CUSTOMERS)
    add_customers(2, 20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert admin_client.get(CUSTOMERS).status_code == 200


def test_customers_cannot_be_added_or_deleted_by_hand(admin_client, customer):
    assert admin_client.get(reverse("admin:crm_customerprofile_add")).status_code == 403
    delete = reverse("admin:crm_customerprofile_delete", args=[customer.pk])
    assert admin_client.get(delete).status_code == 403


def test_add_tag_asks_which_tag_then_tags_the_selection(admin_client, customer, make_user, hotel):
    other = make_user("other")
    segments.refresh_profiles()
    selection = {"action": "add_tag", ACTION_CHECKBOX_NAME: [customer.pk, other.pk]}

    asked = admin_client.post(CUSTOMERS, selection)
    assert "2 customers selected" in asked.text
    done = admin_client.post(CUSTOMERS, {**selection, "apply": "1", "tag": hotel.pk}, follow=True)

    assert "Tag “Hotel” added to 2 customer(s)." in done.text
    assert set(hotel.customers.values_list("user__username", flat=True)) == {"xiaoming", "other"}


def test_remove_tag_takes_it_off_the_selection_only(admin_client, customer, make_user, hotel):
    other = make_user("other")
    segments.refresh_profiles()
    for profile in CustomerProfile.objects.all():
        profile.tags.add(hotel)

    admin_client.post(
        CUSTOMERS,
        {
            "action": "remove_tag",
            ACTION_CHECKBOX_NAME: [customer.pk],
            "apply": "1",
            "tag": hotel.pk,
        },
    )

    assert not hotel.customers.filter(user=customer).exists()
    assert hotel.customers.filter(user=other).exists()


def test_export_selected_customers_as_csv(admin_client, customer, make_distributor):
    alice = make_distributor("alice")
    CustomerBinding.objects.create(customer=customer, distributor=alice, rule="first")

    response = admin_client.post(
        CUSTOMERS, {"action": "export_csv", ACTION_CHECKBOX_NAME: [customer.pk]}
    )

    header, row = csv_rows(response)
    assert header[:3] == ["Username", "Name", "Mobile phone"]
    assert row[:8] == [
        "xiaoming",
        "王小明",
        "13912345678",
        "Active",
        "2",
        "1499.00",
        row[6],
        "alice",
    ]


def test_the_list_filters_by_saved_segment(admin_client, customer, make_user):
    make_user("looker")
    segments.refresh_profiles()
    saved = SavedSegment.objects.create(name="buyers", min_orders=1)

    page = admin_client.get(CUSTOMERS, {"saved_segment": saved.pk}).text

    assert "xiaoming" in page and "looker" not in page


# --- a customer's page ------------------------------------------------------------------


def test_the_customer_page_shows_the_overview_in_cards(admin_client, customer, hotel):
    CustomerNote.objects.create(customer=customer, author=customer, body="喜欢酱香型")

    page = admin_client.get(page_of(customer)).text

    assert "王小明" in page and "13912345678" in page
    assert "¥1,499.00" in page  # spent
    assert "¥799.50" in page  # average order: 1599 / 2
    for order in customer.orders.all():
        assert reverse("admin:orders_order_change", args=[order.pk]) in page
    assert "喜欢酱香型" in page
    assert 'name="tags"' in page and 'name="body"' in page  # the tag and note forms


def _rich(user, make_order, make_coupon, n):
    from marketing import coupons
    from orders.models import AfterSaleRequest

    orders = [make_order(user, "100.00", paid_days_ago=d) for d in range(n)]
    for order in orders[:n]:
        AfterSaleRequest.objects.create(
            order=order,
            kind="whole",
            reason="damaged",
            goods_amount=D("10.00"),
            amount=D("10.00"),
            requested_by=user,
            status="rejected",
        )
    for k in range(n):
        coupons.claim(user, make_coupon(name=f"c{user.pk}-{k}", is_public=True))
        CustomerNote.objects.create(customer=user, author=user, body=f"note {k}")
    segments.refresh_profiles(user_ids=[user.pk])


def test_the_customer_page_takes_the_same_queries_for_a_small_and_a_big_customer(
    admin_client, make_user, make_order, make_coupon, hotel, django_assert_max_num_queries
):
    small, big = make_user("small"), make_user("big")
    _rich(small, make_order, make_coupon, 1)
    _rich(big, make_order, make_coupon, 25)

    with django_assert_max_num_queries(14) as measured:
        admin_client.get(page_of(small))
    with django_assert_max_num_queries(len(measured.captured_queries)):
        assert admin_client.get(page_of(big)).status_code == 200


def test_opening_the_page_of_a_customer_without_a_profile_makes_it(admin_client, make_user):
    newcomer = make_user("newcomer")

    response = admin_client.get(page_of(newcomer))

    assert response.status_code == 200
    assert CustomerProfile.objects.get(user=newcomer).segment == Segment.PROSPECT


def test_the_page_of_no_such_user_is_not_found(admin_client, db):
    assert (
        admin_client.get(reverse("admin:crm_customerprofile_change", args=[999])).status_code == 404
    )


def test_the_customer_page_refuses_non_staff_and_staff_without_permission(
    client, customer, make_user, staff
):
    client.force_login(make_user("nosy"))
    assert client.get(page_of(customer)).status_code == 302  # to the admin's sign-in

    client.force_login(staff(username="clerk"))
    assert client.get(page_of(customer)).status_code == 403


def test_staff_who_may_only_view_see_the_page_without_forms(client, customer, staff):
    client.force_login(staff("view_customerprofile"))

    page = client.get(page_of(customer)).text
    posted = client.post(
        reverse("admin:crm_customerprofile_note", args=[customer.pk]), {"body": "hi"}
    )

    assert "王小明" in page and 'name="body"' not in page and 'name="tags"' not in page
    assert posted.status_code == 403
    assert not CustomerNote.objects.exists()


def test_a_note_is_added_signed_by_the_staff_member(admin_client, admin_user, customer):
    note_url = reverse("admin:crm_customerprofile_note", args=[customer.pk])

    response = admin_client.post(note_url, {"body": "  月底回访，推荐新品  "}, follow=True)

    note = CustomerNote.objects.get()
    assert (note.customer, note.author, note.body) == (customer, admin_user, "月底回访，推荐新品")
    assert "Note added." in response.text and "月底回访，推荐新品" in response.text


def test_an_empty_note_is_refused_on_the_page(admin_client, customer):
    response = admin_client.post(
        reverse("admin:crm_customerprofile_note", args=[customer.pk]), {"body": "   "}
    )

    assert response.status_code == 200
    assert "This field is required." in response.text or "Write the note first." in response.text
    assert not CustomerNote.objects.exists()


def test_the_tags_form_sets_exactly_the_ticked_tags(admin_client, customer, hotel):
    group = Tag.objects.create(name="团购")
    profile = CustomerProfile.objects.get(user=customer)
    profile.tags.add(hotel)

    admin_client.post(
        reverse("admin:crm_customerprofile_tags", args=[customer.pk]), {"tags": [group.pk]}
    )

    assert list(profile.tags.values_list("name", flat=True)) == ["团购"]


def test_recompute_reads_the_orders_again(admin_client, customer, make_order):
    make_order(customer, "50.00", paid_days_ago=0)

    admin_client.post(reverse("admin:crm_customerprofile_refresh", args=[customer.pk]))

    assert CustomerProfile.objects.get(user=customer).orders_count == 3


# --- tags and settings ------------------------------------------------------------------


def test_the_tag_list_counts_customers(admin_client, customer, hotel):
    CustomerProfile.objects.get(user=customer).tags.add(hotel)

    page = admin_client.get(reverse("admin:crm_tag_changelist")).text

    assert f'?tags__id__exact={hotel.pk}">1</a>' in page


def test_new_thresholds_recompute_the_segments(
    admin_client, customer, django_capture_on_commit_callbacks
):
    settings_url = reverse("admin:crm_segmentsettings_change", args=[1])
    SegmentSettings.get_solo()
    data = {
        "new_days": 30,
        "at_risk_days": 2,
        "dormant_days": 40,
        "high_value_spent": "3000.00",
        "high_value_orders": 3,
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(settings_url, data, follow=True)

    assert "segments are being recomputed" in response.text
    assert CustomerProfile.objects.get(user=customer).segment == Segment.AT_RISK


def test_dormant_must_take_more_days_than_at_risk(admin_client, db):
    SegmentSettings.get_solo()
    data = {
        "new_days": 30,
        "at_risk_days": 90,
        "dormant_days": 90,
        "high_value_spent": "3000.00",
        "high_value_orders": 3,
    }

    response = admin_client.post(reverse("admin:crm_segmentsettings_change", args=[1]), data)

    assert "Dormant must take more days than At risk (90)." in response.text


# --- saved segments ---------------------------------------------------------------------


@pytest.fixture
def buyers(customer, make_user, make_order):
    """A saved segment of customers with an order: xiaoming and li, not the looker."""
    li = make_user("li")
    make_order(li, "80.00", paid_days_ago=1)
    make_user("looker")
    segments.refresh_profiles()
    return SavedSegment.objects.create(name="buyers", min_orders=1)


def test_the_saved_segment_list_counts_its_customers(admin_client, buyers):
    page = admin_client.get(SAVED_SEGMENTS).text

    assert f'?saved_segment={buyers.pk}">2</a>' in page
    assert "≥ 1 order" in page


def test_the_saved_segment_list_takes_the_same_queries_for_few_and_many_segments(
    admin_client, buyers, hotel, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12) as few:
        admin_client.get(SAVED_SEGMENTS)
    for n in range(6):
        saved = SavedSegment.objects.create(name=f"s{n}", min_spent=D(n * 100 + 1))
        saved.tags.add(hotel)

    with django_assert_max_num_queries(len(few.captured_queries)):
        page = admin_client.get(SAVED_SEGMENTS).text

    assert f'?saved_segment={buyers.pk}">2</a>' in page


def test_a_saved_segment_page_previews_its_customers(admin_client, buyers):
    page = admin_client.get(reverse("admin:crm_savedsegment_change", args=[buyers.pk])).text

    assert "2 customers match now" in page
    assert "xiaoming" in page and "looker" not in page


def test_a_saved_segment_is_created_by_the_staff_member(admin_client, admin_user):
    admin_client.post(
        reverse("admin:crm_savedsegment_add"),
        {"name": "高价值", "segments": [Segment.HIGH_VALUE], "min_spent": "3000"},
    )

    saved = SavedSegment.objects.get()
    assert (saved.segments, saved.created_by) == ([Segment.HIGH_VALUE], admin_user)


def test_a_saved_segment_exports_its_customers_as_csv(admin_client, buyers):
    response = admin_client.get(reverse("admin:crm_savedsegment_export", args=[buyers.pk]))

    rows = csv_rows(response)
    assert rows[0] == [
        "Username",
        "Name",
        "Mobile phone",
        "Segment",
        "Paid orders",
        "Spent",
        "Last order",
        "Bound distributor",
        "Tags",
    ]
    assert [row[0] for row in rows[1:]] == ["xiaoming", "li"]
    assert rows[1][5] == "1499.00"


def test_exporting_needs_the_permission_to_view_customers(client, buyers, staff):
    client.force_login(staff("view_savedsegment"))

    response = client.get(reverse("admin:crm_savedsegment_export", args=[buyers.pk]))

    assert response.status_code == 403


def test_issuing_a_coupon_to_a_saved_segment_gives_each_customer_one(
    admin_client, admin_user, buyers, make_coupon
):
    coupon = make_coupon()
    selection = {"action": "issue_coupon", ACTION_CHECKBOX_NAME: [buyers.pk]}

    asked = admin_client.post(SAVED_SEGMENTS, selection)
    assert "“buyers”: 2 customers" in asked.text
    done = admin_client.post(
        SAVED_SEGMENTS, {**selection, "apply": "1", "coupon": coupon.pk}, follow=True
    )

    assert "was given to 2 customers" in done.text
    claims = CouponClaim.objects.filter(coupon=coupon)
    assert sorted(claims.values_list("user__username", flat=True)) == ["li", "xiaoming"]
    assert {claim.issued_by for claim in claims} == {admin_user}


def test_a_coupon_with_too_few_left_is_refused_with_a_message(admin_client, buyers, make_coupon):
    coupon = make_coupon(total_quantity=1)
    issue_url = reverse("admin:crm_savedsegment_issue_coupon", args=[buyers.pk])

    response = admin_client.post(issue_url, {"apply": "1", "coupon": coupon.pk})

    assert response.status_code == 200
    assert "Only 1 of this coupon are left" in response.text
    assert not CouponClaim.objects.exists()


def test_a_customer_in_two_segments_gets_one_coupon(admin_client, buyers, make_coupon):
    coupon = make_coupon(per_person_limit=3)
    high = SavedSegment.objects.create(name="big", min_spent=D("1000.00"))
    issue = {
        "action": "issue_coupon",
        ACTION_CHECKBOX_NAME: [buyers.pk, high.pk],
        "apply": "1",
        "coupon": coupon.pk,
    }

    admin_client.post(SAVED_SEGMENTS, issue)

    assert CouponClaim.objects.filter(coupon=coupon).count() == 2


def test_issuing_needs_the_permission_to_change_coupons(client, buyers, make_coupon, staff):
    client.force_login(staff("view_savedsegment", "view_customerprofile"))
    issue_url = reverse("admin:crm_savedsegment_issue_coupon", args=[buyers.pk])

    response = client.post(issue_url, {"apply": "1", "coupon": make_coupon().pk})

    assert response.status_code == 403
    assert not CouponClaim.objects.exists()


def test_an_expired_coupon_is_not_offered(admin_client, buyers, make_coupon):
    now = timezone.now()
    make_coupon(
        name="过期券", valid_from=now - timedelta(days=9), valid_until=now - timedelta(days=1)
    )
    make_coupon(name="有效券")

    page = admin_client.get(reverse("admin:crm_savedsegment_issue_coupon", args=[buyers.pk])).text

    assert "有效券" in page and "过期券" not in page
