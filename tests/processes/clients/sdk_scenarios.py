"""What Camunda's Python client (``camunda-orchestration-sdk``) does against our REST v2 API, as
plain functions of the client's configuration and BPMN files: the test runs them with the
project's SDK (newest major) in its own process, and with the previous major from another
virtualenv (``python sdk_scenarios.py CONFIG_JSON FILE...``), since both import as one name.

Only the SDK and the standard library are imported here: no Django, no project code.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import camunda_orchestration_sdk as sdk
from camunda_orchestration_sdk import models as m

# The model of a new instance's variables was renamed between the two majors (same JSON).
CreationVariables = (
    getattr(m, "ProcessInstanceCreationInstructionBaseVariables", None)
    or m.ProcessInstanceCreationInstructionByIdVariables
)


def variables(items: Any) -> dict[str, Any]:
    return {item.name: json.loads(item.value) for item in items}


def drive_end_to_end(configuration: dict[str, str], files: list[str]) -> None:
    """Topology, deployment, definitions, jobs, messages, user tasks, incidents, search, cancel."""
    client = sdk.CamundaClient(configuration=configuration)
    # topology and deployment
    topology = client.get_topology()
    assert topology.cluster_size == 1 and topology.brokers[0].partitions[0].role.value == "leader"
    deployment = client.deploy_resources_from_files(files)
    keys = {p.process_definition_id: p.process_definition_key for p in deployment.processes}
    assert set(keys) == {"work", "approval", "wait-msg"}
    # process definitions: search, one, its XML
    found = client.search_process_definitions(data=m.ProcessDefinitionSearchQuery())
    assert found.page.total_items == 3
    definition = client.get_process_definition(keys["work"])
    assert (definition.process_definition_id, definition.version) == ("work", 1)
    assert "zeebe:taskDefinition" in client.get_process_definition_xml(keys["work"])

    # start, activate and complete a job
    created = client.create_process_instance(
        data=m.ProcessCreationById(process_definition_id="work")
    )
    work_key = created.process_instance_key
    activated = client.activate_jobs(
        data=m.JobActivationRequest(type_="work", timeout=30_000, max_jobs_to_activate=5)
    )
    [job] = activated.jobs
    assert job.process_instance_key == work_key and job.custom_headers.to_dict() == {
        "carrier": "dhl"
    }
    jobs = client.search_jobs(data=m.JobSearchQuery())
    assert [j.job_key for j in jobs.items] == [job.job_key]
    client.complete_job(job.job_key)
    assert client.get_process_instance(work_key).state.value == "COMPLETED"

    # publish a message that a waiting instance correlates
    waiting = client.create_process_instance(
        data=m.ProcessCreationById(
            process_definition_id="wait-msg",
            variables=CreationVariables.from_dict({"orderId": "o-9"}),
        )
    ).process_instance_key
    published = client.publish_message(
        data=m.MessagePublicationRequest(name="paid", correlation_key="o-9", time_to_live=0)
    )
    assert published.message_key
    assert client.get_process_instance(waiting).state.value == "COMPLETED"

    # user tasks: search, assign, complete
    approval = client.create_process_instance(
        data=m.ProcessCreationById(process_definition_id="approval")
    ).process_instance_key
    tasks = client.search_user_tasks(data=m.UserTaskSearchQuery())
    [task] = tasks.items
    assert task.process_instance_key == approval and task.candidate_groups == ["sales", "managers"]
    client.assign_user_task(task.user_task_key, data=m.UserTaskAssignmentRequest(assignee="ann"))
    assert client.get_user_task(task.user_task_key).assignee == "ann"
    client.complete_user_task(
        task.user_task_key,
        data=m.UserTaskCompletionRequest(
            variables=m.UserTaskCompletionRequestVariables.from_dict({"approved": True})
        ),
    )
    assert client.get_process_instance(approval).state.value == "COMPLETED"

    # incidents: fail at the last retry, update the retries, resolve, complete
    failing = client.create_process_instance(
        data=m.ProcessCreationById(process_definition_id="work")
    ).process_instance_key
    [job] = client.activate_jobs(
        data=m.JobActivationRequest(type_="work", timeout=30_000, max_jobs_to_activate=5)
    ).jobs
    client.fail_job(job.job_key, data=m.JobFailRequest(retries=0, error_message="carrier down"))
    [incident] = client.search_incidents(data=m.IncidentSearchQuery()).items
    assert incident.error_type.value == "JOB_NO_RETRIES" and incident.job_key == job.job_key
    assert client.get_process_instance(failing).has_incident
    client.update_job(job.job_key, data=m.JobUpdateRequest(changeset=m.JobChangeset(retries=1)))
    client.resolve_incident(incident.incident_key)
    [again] = client.activate_jobs(
        data=m.JobActivationRequest(type_="work", timeout=30_000, max_jobs_to_activate=5)
    ).jobs
    assert again.job_key == job.job_key
    client.complete_job(
        again.job_key,
        data=m.JobCompletionRequest(
            variables=m.JobCompletionRequestVariables.from_dict({"shipped": True})
        ),
    )

    # variables and element instances
    found_variables = client.search_variables(data=m.VariableSearchQuery())
    assert {"orderId": "o-9", "approved": True, "shipped": True}.items() <= variables(
        found_variables.items
    ).items()
    elements = client.search_element_instances(data=m.ElementInstanceSearchQuery())
    assert {"start", "task", "end", "approve", "catch"} <= {e.element_id for e in elements.items}

    # cancel
    doomed = client.create_process_instance(
        data=m.ProcessCreationById(process_definition_id="approval")
    ).process_instance_key
    client.cancel_process_instance(doomed, data=None)  # without data the SDK sends an unset body
    assert client.get_process_instance(doomed).state.value == "TERMINATED"
    instances = client.search_process_instances(data=m.ProcessInstanceSearchQuery())
    assert instances.page.total_items == 5


def job_worker_completes_jobs(configuration: dict[str, str], files: list[str]) -> list[str]:
    """The SDK's own job worker takes a job of a started instance and completes it."""

    async def scenario() -> list[str]:
        seen: list[str] = []
        async with sdk.CamundaAsyncClient(configuration=configuration) as client:
            await client.deploy_resources_from_files(files[:1])

            async def handle(job: Any) -> dict[str, Any]:
                seen.append(job.element_id)
                return {"handled": True}

            client.create_job_worker(
                sdk.WorkerConfig(
                    job_type="work", job_timeout_milliseconds=30_000,
                    request_timeout_milliseconds=2_000,
                ),
                handle,
            )  # fmt: skip
            key = (
                await client.create_process_instance(
                    data=m.ProcessCreationById(process_definition_id="work")
                )
            ).process_instance_key
            for _ in range(200):
                state = (await client.get_process_instance(key)).state.value
                if state == "COMPLETED":
                    break
                await asyncio.sleep(0.05)
            assert state == "COMPLETED"
        return seen

    return asyncio.run(asyncio.wait_for(scenario(), 60))


if __name__ == "__main__":
    config, paths = json.loads(sys.argv[1]), sys.argv[2:]
    drive_end_to_end(config, paths)
    assert job_worker_completes_jobs(config, paths) == ["task"]
    print("camunda-orchestration-sdk scenarios passed")
