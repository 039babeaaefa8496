"""The network pages of a lab node (the hub itself is not needed to render them)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ballistics.extensions import db
from ballistics.network.models import SharePolicy
from ballistics.outbox.models import OutboxMessage, Topic
from tests.support.labs import make_lab
from tests.support.services import migrated_app
from tests.support.web import Browser, field_errors

# One xdist worker runs this module (scripts/test: --dist loadgroup): its module-scoped fixtures are
# computed once, not once per worker.
pytestmark = pytest.mark.xdist_group("network-pages")


@pytest.fixture(scope="module")
def node_app(tmp_path_factory):
    instance = tmp_path_factory.mktemp("node")
    return migrated_app(f"sqlite:///{instance / 'node.sqlite'}", instance,
                        NETWORK_HUB_URL="http://127.0.0.1:9", NETWORK_LAB="NODEA")


def test_sharing_policy_page_refuses_beside_the_field_and_writes_nothing(node_app):
    with node_app.app_context():
        kit = make_lab(code="NODEA")
        manager = Browser(node_app, kit, "manager")
        page = manager.get("/network")
        assert "What we share" in page and "Who looked at our data" in page
        assert "0 records shared now." in page
        spanish = manager.client.get("/network", headers={"Accept-Language": "es"}).text
        assert "0 registros compartidos ahora." in spanish
        _, page, flashes = manager.submit("/network/policy", {"mode": "named", "partners": ""})
        assert flashes[0][0] == "error"
        assert field_errors(page) == {"partners": "Required when sharing with named labs."}
        assert db.session.scalar(select(func.count(SharePolicy.id))) == 0
        _, page, flashes = manager.submit("/network/policy", {"mode": "named",
                                                               "partners": "LABB, LABC"})
        assert flashes[0][0] == "success"
        policy = db.session.scalars(select(SharePolicy)).one()
        assert policy.partners == ["LABB", "LABC"]
        # An examiner sees the leads, not the policy; a lab node with no hub has no page.
        examiner = Browser(node_app, kit, "examiner")
        assert "What we share" not in examiner.get("/network")
        assert db.session.scalar(select(func.count(OutboxMessage.id)).where(
            OutboxMessage.topic == Topic.HUB)) == 0  # nothing scanned yet: nothing to send
        db.session.remove()


def test_a_node_without_a_hub_has_no_network_pages(app, lab):
    assert Browser(app, lab, "manager").get("/network", expect=404)


def test_hub_dashboard_shows_members_and_leads(hub_app, member):
    code = member[0]
    with hub_app.app_context():
        staff = make_lab(code="HUBSTAFF" + code[-3:])
        page = Browser(hub_app, staff, "manager").get("/hub")
        assert "Member labs" in page and code in page and "Answered within 48 h" in page
        assert Browser(hub_app, staff, "examiner").get("/hub", expect=403)
        db.session.remove()
