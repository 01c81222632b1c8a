"""The diagram pages load the zoom-and-pan script once (not with each refresh of the panel)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from processes.engine import service
from tests.factories import signed_in_demo as signed_in

pytestmark = pytest.mark.django_db
BPMN = Path(__file__).parent / "review.bpmn"
SCRIPT = "/static/js/diagram.js"


@pytest.fixture
def root(demo_data):
    service.deploy_file(str(BPMN))
    return service.create_instance(process_id="ui-review", business_key="REQ-9")


def test_the_script_is_a_static_file_with_no_outside_source():
    path = finders.find("js/diagram.js")
    assert path
    source = Path(path).read_text()
    assert "viewBox" in source and "http" not in source.replace("htmx", "")


def test_definition_page_names_its_diagram_and_loads_the_script(root):
    html = signed_in("maya").get(reverse("processes:detail", args=[root.definition_id])).content
    html = html.decode()
    assert f'data-diagram="definition-{root.definition_id}"' in html
    assert html.count(SCRIPT) == 1
    # the heat-map link of the waiting step is still in the diagram
    assert "?waiting_at=Review" in html


def test_instance_page_loads_the_script_but_its_refreshed_panel_does_not(root):
    client = signed_in("sam")
    url = reverse("processes:instance", args=[root.key])
    page = client.get(url).content.decode()
    assert f'data-diagram="instance-{root.key}"' in page and page.count(SCRIPT) == 1
    partial = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert f'data-diagram="instance-{root.key}"' in partial and SCRIPT not in partial
