// Seeds a Baton server through its HTTP API with definitions that use SIMPLE, SWITCH,
// FORK_JOIN/JOIN, DO_WHILE, SUB_WORKFLOW and WAIT, and runs that end COMPLETED, FAILED and
// some left RUNNING. Usable on its own: node tests/seed.mjs http://127.0.0.1:PORT
export async function api(base, method, path, body) {
  const res = await fetch(base + "/api" + path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const simple = (name, ref, input = {}) => ({ name, taskReferenceName: ref, type: "SIMPLE", inputParameters: input });

export const mainDef = {
  name: "ui_order",
  version: 1,
  description: "Order flow used by the UI tests",
  schemaVersion: 2,
  ownerEmail: "ui@example.com",
  inputParameters: ["kind"],
  tasks: [
    simple("ui_task_a", "prepare", { kind: "${workflow.input.kind}" }),
    {
      name: "route",
      taskReferenceName: "route",
      type: "SWITCH",
      evaluatorType: "value-param",
      expression: "kind",
      inputParameters: { kind: "${workflow.input.kind}" },
      decisionCases: {
        express: [simple("ui_task_b", "ship_express")],
        standard: [simple("ui_task_b", "ship_standard")],
      },
      defaultCase: [simple("ui_task_c", "ship_other")],
    },
    {
      name: "fan",
      taskReferenceName: "fan",
      type: "FORK_JOIN",
      forkTasks: [[simple("ui_task_b", "bill")], [simple("ui_task_c", "notify")]],
    },
    { name: "fan_join", taskReferenceName: "fan_join", type: "JOIN", joinOn: ["bill", "notify"] },
    {
      name: "pack",
      taskReferenceName: "pack",
      type: "DO_WHILE",
      inputParameters: {},
      loopCondition: "if ($.pack['iteration'] < 2) { true; } else { false; }",
      loopOver: [simple("ui_task_c", "pack_box")],
    },
    {
      name: "child",
      taskReferenceName: "child",
      type: "SUB_WORKFLOW",
      subWorkflowParam: { name: "ui_child", version: 1 },
    },
    { name: "approve", taskReferenceName: "approve", type: "WAIT" },
  ],
  outputParameters: { packed: "${pack.output}" },
  timeoutSeconds: 0,
};

export const childDef = {
  name: "ui_child",
  version: 1,
  schemaVersion: 2,
  ownerEmail: "ui@example.com",
  tasks: [simple("ui_task_c", "child_step")],
  timeoutSeconds: 0,
};

export const simpleDef = {
  name: "ui_simple",
  version: 1,
  schemaVersion: 2,
  ownerEmail: "ui@example.com",
  tasks: [simple("ui_task_a", "only")],
  timeoutSeconds: 0,
};

// A dynamic fork whose branches come from the input, then a SWITCH that may TERMINATE the run.
export const dynDef = {
  name: "ui_dynamic",
  version: 1,
  schemaVersion: 2,
  ownerEmail: "ui@example.com",
  timeoutSeconds: 0,
  tasks: [
    {
      name: "spread",
      taskReferenceName: "spread",
      type: "FORK_JOIN_DYNAMIC",
      inputParameters: { dynamicTasks: "${workflow.input.tasks}", dynamicTasksInput: "${workflow.input.inputs}" },
      dynamicForkTasksParam: "dynamicTasks",
      dynamicForkTasksInputParamName: "dynamicTasksInput",
    },
    { name: "spread_join", taskReferenceName: "spread_join", type: "JOIN" },
    {
      name: "maybe_stop",
      taskReferenceName: "maybe_stop",
      type: "SWITCH",
      evaluatorType: "value-param",
      expression: "stop",
      inputParameters: { stop: "${workflow.input.stop}" },
      decisionCases: {
        yes: [{ name: "end_now", taskReferenceName: "end_now", type: "TERMINATE", inputParameters: { terminationStatus: "FAILED", terminationReason: "stopped by input" } }],
      },
      defaultCase: [],
    },
    simple("ui_task_a", "after"),
  ],
};

// A DO_WHILE whose body is a SWITCH: odd iterations take one case, even ones the other.
export const loopSwitchDef = {
  name: "ui_loop_switch",
  version: 1,
  schemaVersion: 2,
  ownerEmail: "ui@example.com",
  timeoutSeconds: 0,
  tasks: [
    {
      name: "rounds",
      taskReferenceName: "rounds",
      type: "DO_WHILE",
      inputParameters: {},
      loopCondition: "if ($.rounds['iteration'] < 3) { true; } else { false; }",
      loopOver: [
        {
          name: "parity",
          taskReferenceName: "parity",
          type: "SWITCH",
          evaluatorType: "javascript",
          expression: "$.i % 2 == 0 ? 'even' : 'odd'",
          inputParameters: { i: "${rounds.output.iteration}" },
          decisionCases: { even: [simple("ui_task_b", "on_even")], odd: [simple("ui_task_c", "on_odd")] },
        },
      ],
    },
  ],
};

export const taskDefs = ["ui_task_a", "ui_task_b", "ui_task_c"].map((name) => ({
  name,
  description: `UI test task ${name}`,
  ownerEmail: "ui@example.com",
  retryCount: 0,
  timeoutSeconds: 300,
  responseTimeoutSeconds: 60,
}));

/** Polls one task of `type`; completes it with `status`. Returns the task or null. */
export async function work(base, type, status = "COMPLETED", output = {}) {
  const t = await api(base, "GET", `/tasks/poll/${type}?workerid=ui-seed-worker`);
  if (!t) return null;
  await api(base, "POST", `/tasks/${t.taskId}/log`, `worked on ${t.referenceTaskName}`);
  await api(base, "POST", "/tasks", {
    workflowInstanceId: t.workflowInstanceId,
    taskId: t.taskId,
    status,
    workerId: "ui-seed-worker",
    outputData: { done: t.referenceTaskName, ...output },
    reasonForIncompletion: status === "FAILED" ? "seeded failure" : undefined,
  });
  return t;
}

export async function waitFor(fn, what, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out waiting for " + what);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Drives every worker task of the seeded types until `done()` holds. */
async function drain(base, done) {
  await waitFor(async () => {
    for (const type of ["ui_task_a", "ui_task_b", "ui_task_c"]) {
      while (await work(base, type)) {}
    }
    return done();
  }, "runs to progress", 30000);
}

export async function seed(base, { simpleRuns = 24 } = {}) {
  await api(base, "POST", "/metadata/taskdefs", taskDefs);
  for (const d of [childDef, simpleDef, mainDef, dynDef, loopSwitchDef]) {
    await api(base, "POST", "/metadata/workflow?overwrite=true", d);
  }
  const ids = { order: {}, simple: { completed: [], failed: [], running: [] } };
  const start = (name, input, correlationId) =>
    api(base, "POST", "/workflow", { name, version: 1, input, correlationId });

  // Order runs, driven to their WAIT task: one per SWITCH branch.
  ids.order.express = await start("ui_order", { kind: "express" }, "corr-express");
  ids.order.other = await start("ui_order", { kind: "other" }, "corr-other");
  const atWait = async (id) => {
    const w = await api(base, "GET", `/workflow/${id}?includeTasks=true`);
    return w.tasks.some((t) => t.referenceTaskName === "approve" && t.status === "IN_PROGRESS");
  };
  await drain(base, async () => (await atWait(ids.order.express)) && (await atWait(ids.order.other)));
  // The "other" run is approved through the task API, so it ends COMPLETED.
  await api(base, "POST", `/tasks/${ids.order.other}/approve/COMPLETED`, { approvedBy: "seed" });

  // A dynamic fork of three branches, stopped by its TERMINATE task.
  ids.dynamic = await start("ui_dynamic", {
    stop: "yes",
    tasks: ["d1", "d2", "d3"].map((r, i) => ({ name: i === 2 ? "ui_task_c" : "ui_task_b", taskReferenceName: r, type: "SIMPLE" })),
    inputs: { d1: { n: 1 }, d2: { n: 2 }, d3: { n: 3 } },
  }, "corr-dynamic");
  await drain(base, async () => (await api(base, "GET", `/workflow/${ids.dynamic}`)).status === "FAILED");

  // Three rounds of a loop around a SWITCH.
  ids.loopSwitch = await start("ui_loop_switch", {}, "corr-loop");
  await drain(base, async () => (await api(base, "GET", `/workflow/${ids.loopSwitch}`)).status === "COMPLETED");

  // Simple runs: a third completed, a third failed (each worked as soon as it starts, while
  // its task is the only one queued), then the rest left RUNNING (task scheduled).
  const third = Math.floor(simpleRuns / 3);
  for (let i = 0; i < 2 * third; i++) {
    const id = await start("ui_simple", { n: i }, `corr-simple-${i}`);
    const kind = i % 2 === 0 ? "completed" : "failed";
    const t = await waitFor(() => work(base, "ui_task_a", kind === "completed" ? "COMPLETED" : "FAILED", { n: i }), "a task of run " + i);
    if (t.workflowInstanceId !== id) throw new Error("worked a task of another run");
    ids.simple[kind].push(id);
  }
  for (let i = 2 * third; i < simpleRuns; i++) {
    ids.simple.running.push(await start("ui_simple", { n: i }, `corr-simple-${i}`));
  }
  await waitFor(async () => {
    const r = await api(base, "GET", `/workflow/search?size=0&query=${encodeURIComponent("workflowType = 'ui_simple' AND status IN (COMPLETED,FAILED)")}`);
    const all = await api(base, "GET", "/workflow/search?size=0");
    return r.totalHits >= ids.simple.completed.length + ids.simple.failed.length && all.totalHits >= simpleRuns + 6;
  }, "the search index");
  return ids;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const ids = await seed(process.argv[2]);
  console.log(JSON.stringify(ids, null, 2));
}
