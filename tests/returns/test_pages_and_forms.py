"""Staff pages, navigation counts and the tasklist forms (with who may do what)."""

from __future__ import annotations

import pytest
from django.test import Client

from processes.models import UserTask
from returns.models import ReturnRefund, ReturnRequest
from tests.factories import make_user

from .conftest import delivered_order
from .helpers import new_account, receive, request_return

S = ReturnRequest.S


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def flagged(deployed, shop, customer):
    new_account(customer)
    order = delivered_order(customer=customer, items=[(shop.speaker, 8)], delivered_days_ago=26)
    return request_return(deployed, order, [("AA-SPK-9", 8)])


def complete_in_tasklist(deployed, user, task: UserTask, data: dict):
    response = signed_in(user).post(f"/tasks/{task.key}/complete/", data)
    deployed.run_handlers()
    return response


def to_approval(deployed, flagged, support):
    return_request, instance = flagged
    review = deployed.user_task("UserTask_review", instance)
    complete_in_tasklist(deployed, support, review, {"decision": "approve"})
    receive(deployed, return_request)
    return deployed.user_task("UserTask_refund_approval", instance)


def test_review_form_explains_the_score(deployed, flagged, support):
    _, instance = flagged
    task = deployed.user_task("UserTask_review", instance)

    page = signed_in(support).get(f"/tasks/{task.key}/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "Fraud score" in html and "80 / 100" in html
    assert "Returned value over 5,000 in 90 days" in html
    assert "5,199.92 &gt; 5,000.00" in html  # value against threshold, in money
    assert "1.00 &gt; 0.60" in html  # the return-to-purchase ratio
    assert "New account (days since sign-up)" in html


def test_review_reject_needs_a_reason(deployed, flagged, support):
    _, instance = flagged
    task = deployed.user_task("UserTask_review", instance)

    response = complete_in_tasklist(deployed, support, task, {"decision": "reject"})

    assert response.status_code == 400
    assert "Say why the return is rejected." in response.content.decode()
    task.refresh_from_db()
    assert task.state == UserTask.CREATED


def test_support_sees_the_review_count_and_managers_the_approval_count(
    deployed, flagged, support, manager
):
    page = signed_in(support).get("/returns/")
    assert page.status_code == 200
    nav = next(i for i in page.context["nav_items"] if i["label"] == "Returns")
    assert nav["count"] == 1
    assert "Review queue" in page.content.decode()

    to_approval(deployed, flagged, support)
    nav = [
        i
        for i in signed_in(manager).get("/returns/").context["nav_items"]
        if i["label"] == "Returns"
    ]
    assert nav[0]["count"] == 1
    nav = [
        i
        for i in signed_in(support).get("/returns/").context["nav_items"]
        if i["label"] == "Returns"
    ]
    assert nav[0]["count"] == 0


def test_support_cannot_open_or_complete_the_refund_approval(deployed, flagged, support):
    task = to_approval(deployed, flagged, support)

    assert signed_in(support).get(f"/tasks/{task.key}/").status_code == 404
    response = signed_in(support).post(f"/tasks/{task.key}/complete/", {"decision": "approve"})
    assert response.status_code == 404
    task.refresh_from_db()
    assert task.state == UserTask.CREATED


def test_refund_approval_form_refuses_the_reviewer_four_eyes(deployed, flagged, manager):
    # given a manager reviewed the flagged return (managers see every task)
    task = to_approval(deployed, flagged, manager)

    response = complete_in_tasklist(deployed, manager, task, {"decision": "approve"})

    assert response.status_code == 400
    assert "Four eyes" in response.content.decode()
    task.refresh_from_db()
    assert task.state == UserTask.CREATED


FOUR_EYES_NOTICE = (
    "You recorded the fraud review of this return, so another manager must approve the refund."
)


def test_refund_approval_shows_the_four_eyes_rule_before_submitting(
    deployed, flagged, manager, manager2
):
    # given a manager recorded the fraud review of the flagged return
    task = to_approval(deployed, flagged, manager)

    html = signed_in(manager).get(f"/tasks/{task.key}/").content.decode()
    form = html.split('action="/tasks/')[-1]

    assert FOUR_EYES_NOTICE in html
    assert html.index(FOUR_EYES_NOTICE) < html.index(f'action="/tasks/{task.key}/complete/"')
    assert '<button type="submit" disabled aria-describedby="completion-refused">' in form

    # another manager sees no notice and can submit
    other = signed_in(manager2).get(f"/tasks/{task.key}/").content.decode()
    assert FOUR_EYES_NOTICE not in other and "completion-refused" not in other
    assert '<button type="submit">Complete task</button>' in other


def test_refund_approval_notice_names_the_inspection(deployed, flagged, support, manager, manager2):
    # support sends the flagged return to inspection; a manager (managers see every task)
    # inspects the item, and so cannot approve its refund
    return_request, instance = flagged
    review = deployed.user_task("UserTask_review", instance)
    complete_in_tasklist(deployed, support, review, {"decision": "inspect"})
    receive(deployed, return_request)
    inspection = deployed.user_task("UserTask_inspection", instance)
    complete_in_tasklist(
        deployed,
        manager,
        inspection,
        {"condition": "as_new", "matches_order": "on", "restockable": "on"},
    )
    approval = deployed.user_task("UserTask_refund_approval", instance)

    html = signed_in(manager).get(f"/tasks/{approval.key}/").content.decode()

    assert "You inspected the returned item, so another manager must approve the refund." in html
    assert "disabled" in html.split(f'action="/tasks/{approval.key}/complete/"')[1]
    assert "disabled" not in signed_in(manager2).get(f"/tasks/{approval.key}/").content.decode()


def test_refund_approval_form_shows_amount_and_history_and_approves(
    deployed, flagged, support, manager
):
    return_request, instance = flagged
    task = to_approval(deployed, flagged, support)
    page = signed_in(manager).get(f"/tasks/{task.key}/")
    html = page.content.decode()
    assert "€5,199.92" in html
    assert "Refund history of the order" in html

    complete_in_tasklist(deployed, manager, task, {"decision": "approve"})

    instance.is_completed()
    refund = ReturnRefund.objects.get(return_request=return_request)
    assert refund.approved_by == manager and refund.status == "issued"


def test_inspection_form_records_the_result(deployed, shop, customer, warehouse):
    order = delivered_order(customer=customer, items=[(shop.headphones, 1)])
    return_request, instance = request_return(deployed, order, [("AA-HP-100", 1)])
    receive(deployed, return_request)
    task = deployed.user_task("UserTask_inspection", instance)

    bad = complete_in_tasklist(
        deployed, warehouse, task, {"condition": "as_new", "photos": "not a url"}
    )
    assert bad.status_code == 400
    complete_in_tasklist(
        deployed,
        warehouse,
        task,
        {
            "condition": "as_new",
            "matches_order": "on",
            "restockable": "on",
            "photos": "https://photos.example.com/1.jpg",
        },
    )

    instance.is_completed()
    return_request.refresh_from_db()
    assert return_request.status == S.COMPLETED
    assert return_request.inspection.photos == ["https://photos.example.com/1.jpg"]


def test_return_list_filters_and_detail_shows_workflow(deployed, flagged, support):
    return_request, _ = flagged
    client = signed_in(support)

    assert return_request.number in client.get("/returns/?flagged=1").content.decode()
    assert return_request.number not in client.get("/returns/?status=completed").content.decode()
    assert return_request.number in client.get("/returns/?q=carla").content.decode()
    detail = client.get(f"/returns/{return_request.number}/")
    html = detail.content.decode()
    assert detail.status_code == 200
    assert "Fraud check" in html and "svg" in html and "Review flagged return" in html
    assert client.get("/returns/RET-NOPE/").status_code == 404


def test_vendor_and_anonymous_users_cannot_see_returns(deployed, flagged, shop):
    return_request, _ = flagged
    vendor_user = make_user("vic", vendor=shop.acme)

    assert signed_in(vendor_user).get("/returns/").status_code == 403
    assert signed_in(vendor_user).get(f"/returns/{return_request.number}/").status_code == 403
    assert Client().get("/returns/").status_code == 302
