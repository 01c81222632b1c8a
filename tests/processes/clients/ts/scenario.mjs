// Camunda's TypeScript client for the Orchestration Cluster REST API, unchanged, against Orderly's
// /v2 (CAMUNDA_SDK_VALIDATION sets its request and response checks). Run by
// test_typescript_clients.py:
//   node scenario.mjs <package name> <file.bpmn>...   (CAMUNDA_* settings in the environment)
// Prints one JSON line per step; exits 1 at the first failed step.

const [packageName, ...files] = process.argv.slice(2);
const imported = await import(packageName);
// @camunda8/sdk (8.8) hands out the same client as getOrchestrationClusterApiClient().
const camunda = imported.Camunda8
  ? new imported.Camunda8().getOrchestrationClusterApiClient()
  : imported.createCamundaClient();
const keep = {};
// Reads are eventually consistent on Camunda; here they are current at once.
const NOW = { consistency: { waitUpToMs: 0 } };

async function step(name, run) {
  try {
    const value = await run();
    console.log(JSON.stringify({ step: name, ok: true }));
    return value;
  } catch (error) {
    const detail = error && (error.stack || error.message || String(error));
    console.log(JSON.stringify({ step: name, ok: false, error: String(detail).slice(0, 4000), cause: error && error.cause ? JSON.stringify(error.cause).slice(0, 4000) : undefined, issues: error && (error.issues || error.details) ? JSON.stringify(error.issues || error.details).slice(0, 4000) : undefined }));
    process.exit(1);
  }
}

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
}

await step("topology", async () => {
  const topology = await camunda.getTopology();
  check(topology.clusterSize === 1, "one broker");
});
await step("deploy", async () => {
  const result = await camunda.deployResourcesFromFiles(files);
  keep.definitions = Object.fromEntries(
    result.processes.map((p) => [p.processDefinitionId, p.processDefinitionKey]),
  );
  check(keep.definitions.work, "work deployed");
});
await step("search process definitions", async () => {
  const found = await camunda.searchProcessDefinitions({ filter: { processDefinitionId: "work" } }, NOW);
  check(found.items.length === 1, "one definition");
  const one = await camunda.getProcessDefinition({ processDefinitionKey: keep.definitions.work }, NOW);
  check(one.version === 1, "version 1");
  const xml = await camunda.getProcessDefinitionXml({ processDefinitionKey: keep.definitions.work }, NOW);
  check(String(xml).includes("taskDefinition"), "the XML");
});
await step("start and complete a job", async () => {
  const created = await camunda.createProcessInstance({ processDefinitionId: "work", variables: { n: 1 } });
  keep.work = created.processInstanceKey;
  const { jobs } = await camunda.activateJobs({ type: "work", timeout: 30000, maxJobsToActivate: 5, requestTimeout: 1000 });
  check(jobs.length === 1, "one job");
  const found = await camunda.searchJobs({ filter: { processInstanceKey: keep.work } }, NOW);
  check(found.items.length === 1, "job search");
  await camunda.completeJob({ jobKey: jobs[0].jobKey, variables: { done: true } });
  const instance = await camunda.getProcessInstance({ processInstanceKey: keep.work }, NOW);
  check(instance.state === "COMPLETED", "instance completed");
});
await step("job worker", async () => {
  const created = await camunda.createProcessInstance({ processDefinitionId: "work" });
  let handled = 0;
  const worker = camunda.createJobWorker({
    jobType: "work",
    jobTimeoutMs: 30000,
    maxParallelJobs: 2,
    pollIntervalMs: 100,
    jobHandler: async (job) => {
      handled += 1;
      return job.complete({ byWorker: true });
    },
  });
  for (let i = 0; i < 100; i += 1) {
    const instance = await camunda.getProcessInstance({ processInstanceKey: created.processInstanceKey }, NOW);
    if (instance.state === "COMPLETED") break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await worker.stop?.();
  check(handled === 1, "the worker handled the job");
});
await step("publish and correlate messages", async () => {
  const waiting = await camunda.createProcessInstance({ processDefinitionId: "wait-msg", variables: { orderId: "o-1" } });
  await camunda.publishMessage({ name: "paid", correlationKey: "o-1", timeToLive: 0 });
  const instance = await camunda.getProcessInstance({ processInstanceKey: waiting.processInstanceKey }, NOW);
  check(instance.state === "COMPLETED", "correlated");
  const second = await camunda.createProcessInstance({ processDefinitionId: "wait-msg", variables: { orderId: "o-2" } });
  const correlated = await camunda.correlateMessage({ name: "paid", correlationKey: "o-2" });
  check(correlated.processInstanceKey === second.processInstanceKey, "correlated to the instance");
});
await step("user tasks", async () => {
  const created = await camunda.createProcessInstance({ processDefinitionId: "approval" });
  const found = await camunda.searchUserTasks({ filter: { processInstanceKey: created.processInstanceKey } }, NOW);
  check(found.items.length === 1, "one task");
  const task = found.items[0];
  await camunda.assignUserTask({ userTaskKey: task.userTaskKey, assignee: "ann" });
  const assigned = await camunda.getUserTask({ userTaskKey: task.userTaskKey }, NOW);
  check(assigned.assignee === "ann", "assigned");
  await camunda.completeUserTask({ userTaskKey: task.userTaskKey, variables: { approved: true } });
});
await step("incidents", async () => {
  const created = await camunda.createProcessInstance({ processDefinitionId: "work" });
  const { jobs } = await camunda.activateJobs({ type: "work", timeout: 30000, maxJobsToActivate: 5 });
  await camunda.failJob({ jobKey: jobs[0].jobKey, retries: 0, errorMessage: "carrier down" });
  const found = await camunda.searchIncidents({ filter: { processInstanceKey: created.processInstanceKey } }, NOW);
  check(found.items.length === 1, "one incident");
  await camunda.updateJob({ jobKey: jobs[0].jobKey, changeset: { retries: 1 } });
  await camunda.resolveIncident({ incidentKey: found.items[0].incidentKey });
  const again = await camunda.activateJobs({ type: "work", timeout: 30000, maxJobsToActivate: 5 });
  check(again.jobs.length === 1, "offered again");
  await camunda.completeJob({ jobKey: again.jobs[0].jobKey });
  keep.failing = created.processInstanceKey;
});
await step("variables and element instances", async () => {
  const variables = await camunda.searchVariables({ filter: { processInstanceKey: keep.work } }, NOW);
  check(variables.items.some((v) => v.name === "done"), "variables");
  const elements = await camunda.searchElementInstances({ filter: { processInstanceKey: keep.work } }, NOW);
  check(elements.items.length >= 3, "element instances");
  const page = await camunda.searchProcessInstances({ page: { limit: 1 } }, NOW);
  check(page.items.length === 1 && page.page.totalItems >= 5, "a page");
  if (page.page.endCursor) {
    const next = await camunda.searchProcessInstances({ page: { limit: 1, after: page.page.endCursor } }, NOW);
    check(
      next.items.length === 1 && next.items[0].processInstanceKey !== page.items[0].processInstanceKey,
      `the next page: ${JSON.stringify([page, next])}`,
    );
  }
});
await step("cancel", async () => {
  const created = await camunda.createProcessInstance({ processDefinitionId: "approval" });
  await camunda.cancelProcessInstance({ processInstanceKey: created.processInstanceKey });
  const instance = await camunda.getProcessInstance({ processInstanceKey: created.processInstanceKey }, NOW);
  check(instance.state === "TERMINATED", "terminated");
});
