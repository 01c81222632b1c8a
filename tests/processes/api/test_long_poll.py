"""Job activation long polling: a job created while the request waits is handed out."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from processes.engine import service

from .conftest import EngineClient, service_process


@pytest.mark.django_db(transaction=True)
def test_long_poll_returns_job_created_while_waiting(api: EngineClient) -> None:
    api.deploy_ok("work.bpmn", service_process())

    def start_later() -> None:
        try:
            time.sleep(0.3)
            service.create_instance(process_id="work")
        finally:
            connection.close()

    thread = threading.Thread(target=start_later)
    started = time.monotonic()
    thread.start()
    jobs = api.activate("work", requestTimeout=5000)
    thread.join()
    assert len(jobs) == 1
    assert 0.25 <= time.monotonic() - started < 5
