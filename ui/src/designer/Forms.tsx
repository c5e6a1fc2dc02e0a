// The designer's side panel forms: one task (common fields, its type's own fields and its raw
// JSON) and the workflow's own fields. Every edit makes a new task or document from the old one,
// so fields the forms do not show stay as they were.
import { lazy, Suspense, useEffect, useRef, useState } from "react";
import type { CompletionSource } from "@codemirror/autocomplete";
import { getAt, isObj, removeAt, setAt, typeOf, type Doc, type JsonValue, type Obj, type Task } from "./model";

const JsonEditor = lazy(() => import("../components/JsonEditor"));

const S = (v: unknown) => JSON.stringify(v, null, 2);

/** A JSON value edited as text: kept as typed while it does not parse (the error shown). */
export function JsonField({ label, value, onChange, complete, minHeight = "4em" }: {
  label: string;
  value: JsonValue | undefined;
  onChange: (v: JsonValue) => void;
  complete?: CompletionSource;
  minHeight?: string;
}) {
  const [text, setText] = useState(() => S(value ?? null));
  const [error, setError] = useState<string>();
  const last = useRef<string>(S(value ?? null));
  // A change made elsewhere replaces the text (one that came from this text does not).
  useEffect(() => {
    const now = S(value ?? null);
    if (now !== last.current) {
      last.current = now;
      setText(now);
      setError(undefined);
    }
  }, [value]);
  return (
    <div className="json-field">
      <span className="field-label">{label}</span>
      <Suspense fallback={<pre className="json-fallback">{text}</pre>}>
        <JsonEditor text={text} editable follow label={label} minHeight={minHeight} complete={complete}
          onChange={(t) => {
            setText(t);
            try {
              const v = JSON.parse(t) as JsonValue;
              setError(undefined);
              if (S(v) === last.current) return; // the same value (or the text set from it)
              last.current = S(v);
              onChange(v);
            } catch (e) {
              setError((e as Error).message);
            }
          }} />
      </Suspense>
      {error && <p className="field-error" role="alert">Not valid JSON (not applied): {error}</p>}
    </div>
  );
}

function Text({ label, value, onChange, multiline, list, type = "text" }: {
  label: string;
  value: unknown;
  onChange: (v: string) => void;
  multiline?: boolean;
  list?: string;
  type?: string;
}) {
  const v = value === undefined || value === null ? "" : String(value);
  return (
    <label className="field">
      <span className="field-label">{label}</span>
      {multiline
        ? <textarea value={v} rows={3} onChange={(e) => onChange(e.target.value)} />
        : <input type={type} value={v} list={list} onChange={(e) => onChange(e.target.value)} />}
    </label>
  );
}

function Choice({ label, value, options, onChange }: { label: string; value: unknown; options: string[]; onChange: (v: string) => void }) {
  const v = value === undefined || value === null ? "" : String(value);
  const all = v && !options.includes(v) ? [v, ...options] : options;
  return (
    <label className="field">
      <span className="field-label">{label}</span>
      <select value={v} onChange={(e) => onChange(e.target.value)}>
        {!v && <option value="">(none)</option>}
        {all.map((o) => <option key={o} value={o}>{o}</option>)}
      </select>
    </label>
  );
}

/** The object with `key` set (kept in its place), or removed when `v` is undefined. */
export function withField<T extends Obj>(o: T, key: string, v: JsonValue | undefined): T {
  const out = { ...o } as Obj;
  if (v === undefined) delete out[key];
  else out[key] = v;
  return out as T;
}

const numOrText = (s: string): JsonValue => (s.trim() !== "" && !isNaN(Number(s)) ? Number(s) : s);

export interface TaskFormProps {
  task: Task;
  onChange: (t: Task) => void;
  onDelete: () => void;
  onMove: () => void;
  onAddCase: () => void;
  onRenameCase: (from: string, to: string) => void;
  onRemoveCase: (name: string) => void;
  onAddBranch: () => void;
  onRemoveBranch: (i: number) => void;
  workflows: string[];
  /** The versions of each workflow (for sub-workflows). */
  versions?: Record<string, number[]>;
  problems: string[];
  complete?: CompletionSource;
}

export function TaskForm({ task, onChange, onDelete, onMove, onAddCase, onRenameCase, onRemoveCase, onAddBranch, onRemoveBranch, workflows, versions = {}, problems, complete }: TaskFormProps) {
  const type = typeOf(task);
  const set = (k: string, v: JsonValue | undefined) => onChange(withField(task, k, v));
  const setIn = (path: (string | number)[], v: JsonValue) => onChange(setAt(task, path, v) as Task);
  const input = isObj(task.inputParameters) ? task.inputParameters : {};
  return (
    <div className="stack task-form" aria-label="Task form">
      {problems.length > 0 && (
        <div className="error" role="alert" aria-label="Problems of this task">
          <ul className="problems">{problems.map((p, i) => <li key={i}>{p}</li>)}</ul>
        </div>
      )}
      <div className="form-grid">
        <Text label="Name" value={task.name} onChange={(v) => set("name", v)} />
        <Text label="Reference name" value={task.taskReferenceName} onChange={(v) => set("taskReferenceName", v)} />
        <Text label="Type" value={task.type ?? "SIMPLE"} onChange={(v) => set("type", v)} list="designer-task-types" />
        <Text label="Description" value={task.description} onChange={(v) => set("description", v || undefined)} />
      </div>
      <label className="check">
        <input type="checkbox" checked={task.optional === true} onChange={(e) => set("optional", e.target.checked)} /> Optional (the run goes on when it fails)
      </label>

      {(type === "SWITCH" || type === "DECISION") && (
        <fieldset className="stack">
          <legend>Switch</legend>
          <div className="form-grid">
            <Choice label="Evaluator" value={task.evaluatorType} options={["value-param", "javascript", "graaljs"]} onChange={(v) => set("evaluatorType", v)} />
            <Text label="Expression" value={task.expression} onChange={(v) => set("expression", v)} />
            {type === "DECISION" && <Text label="Case value parameter" value={task.caseValueParam} onChange={(v) => set("caseValueParam", v || undefined)} />}
          </div>
          <span className="field-label">Cases</span>
          <ul className="case-list">
            {Object.keys(isObj(task.decisionCases) ? task.decisionCases : {}).map((c) => (
              <li key={c} className="row">
                <CaseName name={c} onRename={(to) => onRenameCase(c, to)} />
                <button className="btn small danger" onClick={() => onRemoveCase(c)} aria-label={`Remove case ${c}`}>Remove</button>
              </li>
            ))}
          </ul>
          <div><button className="btn small" onClick={onAddCase}>Add case</button></div>
        </fieldset>
      )}
      {type === "DO_WHILE" && (
        <fieldset className="stack">
          <legend>Loop</legend>
          <Text label="Loop condition" value={task.loopCondition} multiline onChange={(v) => set("loopCondition", v)} />
          <Choice label="Evaluator" value={task.evaluatorType} options={["javascript", "graaljs"]} onChange={(v) => set("evaluatorType", v || undefined)} />
        </fieldset>
      )}
      {(type === "FORK_JOIN" || type === "FORK") && (
        <fieldset className="stack">
          <legend>Branches</legend>
          <ul className="case-list">
            {(Array.isArray(task.forkTasks) ? task.forkTasks : []).map((b, i) => (
              <li key={i} className="row">
                <span>Branch {i + 1}: {Array.isArray(b) ? b.length : 0} task(s)</span>
                <button className="btn small danger" onClick={() => onRemoveBranch(i)} aria-label={`Remove branch ${i + 1}`}>Remove</button>
              </li>
            ))}
          </ul>
          <div><button className="btn small" onClick={onAddBranch}>Add branch</button></div>
        </fieldset>
      )}
      {type === "FORK_JOIN_DYNAMIC" && (
        <fieldset className="form-grid">
          <legend>Dynamic fork</legend>
          <Text label="Tasks parameter" value={task.dynamicForkTasksParam} onChange={(v) => set("dynamicForkTasksParam", v)} />
          <Text label="Tasks input parameter" value={task.dynamicForkTasksInputParamName} onChange={(v) => set("dynamicForkTasksInputParamName", v)} />
        </fieldset>
      )}
      {(type === "JOIN" || type === "EXCLUSIVE_JOIN") && (
        <Text label="Join on (reference names, comma separated)" value={Array.isArray(task.joinOn) ? task.joinOn.join(", ") : ""}
          onChange={(v) => set("joinOn", v.split(",").map((s) => s.trim()).filter(Boolean))} />
      )}
      {type === "SUB_WORKFLOW" && (
        <fieldset className="form-grid">
          <legend>Sub workflow</legend>
          <label className="check wide">
            <input type="checkbox" checked={isObj(getAt(task, ["subWorkflowParam", "workflowDefinition"]))}
              onChange={(e) => e.target.checked
                ? setIn(["subWorkflowParam", "workflowDefinition"], { name: String(getAt(task, ["subWorkflowParam", "name"]) || `${String(task.taskReferenceName ?? "child")}_inline`), version: 1, schemaVersion: 2, tasks: [] })
                : onChange(removeAt(task, ["subWorkflowParam", "workflowDefinition"]) as Task)} />
            Define the child workflow here (drawn inside this task; drop tasks into it)
          </label>
          <Choice label="Workflow" value={getAt(task, ["subWorkflowParam", "name"])} options={workflows} onChange={(v) => setIn(["subWorkflowParam", "name"], v)} />
          <Choice label="Version" value={getAt(task, ["subWorkflowParam", "version"])}
            options={(versions[String(getAt(task, ["subWorkflowParam", "name"]) ?? "")] ?? []).map(String)}
            onChange={(v) => setIn(["subWorkflowParam", "version"], numOrText(v))} />
        </fieldset>
      )}
      {type === "START_WORKFLOW" && (
        <fieldset className="form-grid">
          <legend>Start workflow</legend>
          <Choice label="Workflow" value={getAt(input, ["startWorkflow", "name"])} options={workflows} onChange={(v) => setIn(["inputParameters", "startWorkflow", "name"], v)} />
          <Text label="Version" type="number" value={getAt(input, ["startWorkflow", "version"])} onChange={(v) => setIn(["inputParameters", "startWorkflow", "version"], numOrText(v))} />
        </fieldset>
      )}
      {type === "HTTP" && (
        <fieldset className="stack">
          <legend>HTTP request</legend>
          <div className="form-grid">
            <Text label="URI" value={getAt(input, ["http_request", "uri"])} onChange={(v) => setIn(["inputParameters", "http_request", "uri"], v)} />
            <Choice label="Method" value={getAt(input, ["http_request", "method"])} options={["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]} onChange={(v) => setIn(["inputParameters", "http_request", "method"], v)} />
          </div>
          <JsonField label="Headers" value={getAt(input, ["http_request", "headers"]) ?? {}} onChange={(v) => setIn(["inputParameters", "http_request", "headers"], v)} complete={complete} />
          <JsonField label="Body" value={getAt(input, ["http_request", "body"]) ?? null} onChange={(v) => setIn(["inputParameters", "http_request", "body"], v)} complete={complete} />
        </fieldset>
      )}
      {(type === "INLINE" || type === "LAMBDA") && (
        <fieldset className="stack">
          <legend>Script</legend>
          {type === "INLINE" && <Choice label="Evaluator" value={input.evaluatorType} options={["graaljs", "javascript", "python"]} onChange={(v) => setIn(["inputParameters", "evaluatorType"], v)} />}
          <Text label="Expression" multiline value={type === "INLINE" ? input.expression : input.scriptExpression}
            onChange={(v) => setIn(["inputParameters", type === "INLINE" ? "expression" : "scriptExpression"], v)} />
        </fieldset>
      )}
      {type === "JSON_JQ_TRANSFORM" && (
        <Text label="jq query" multiline value={input.queryExpression} onChange={(v) => setIn(["inputParameters", "queryExpression"], v)} />
      )}
      {type === "WAIT" && (
        <fieldset className="form-grid">
          <legend>Wait</legend>
          <Text label="Duration (e.g. 10s, 2m)" value={input.duration} onChange={(v) => onChange(setAt(task, ["inputParameters"], withField(input, "duration", v || undefined)) as Task)} />
          <Text label="Until (date and time)" value={input.until} onChange={(v) => onChange(setAt(task, ["inputParameters"], withField(input, "until", v || undefined)) as Task)} />
        </fieldset>
      )}
      {type === "TERMINATE" && (
        <fieldset className="form-grid">
          <legend>Terminate</legend>
          <Choice label="Status" value={input.terminationStatus} options={["COMPLETED", "FAILED", "TERMINATED"]} onChange={(v) => setIn(["inputParameters", "terminationStatus"], v)} />
          <Text label="Reason" value={input.terminationReason} onChange={(v) => setIn(["inputParameters", "terminationReason"], v)} />
        </fieldset>
      )}
      {type === "EVENT" && <Text label="Sink" value={task.sink} onChange={(v) => set("sink", v)} />}
      {type === "DYNAMIC" && <Text label="Task name parameter" value={task.dynamicTaskNameParam} onChange={(v) => set("dynamicTaskNameParam", v)} />}

      <JsonField label="Input parameters" value={task.inputParameters ?? {}} onChange={(v) => set("inputParameters", v)} complete={complete} minHeight="6em" />
      <details>
        <summary>Task JSON (every field)</summary>
        <JsonField label="Task JSON" value={task} onChange={(v) => isObj(v) && onChange(v)} complete={complete} minHeight="8em" />
      </details>
      <div className="row">
        <button className="btn" onClick={onMove}>Move…</button>
        <button className="btn danger" onClick={onDelete}>Delete task</button>
      </div>
    </div>
  );
}

function CaseName({ name, onRename }: { name: string; onRename: (to: string) => void }) {
  const [v, setV] = useState(name);
  useEffect(() => setV(name), [name]);
  return (
    <input aria-label={`Case ${name}`} value={v} onChange={(e) => setV(e.target.value)}
      onBlur={() => v !== name && v && onRename(v)}
      onKeyDown={(e) => { if (e.key === "Enter") (e.target as HTMLInputElement).blur(); }} />
  );
}

export function WorkflowForm({ doc, onChange, workflows, complete }: { doc: Doc; onChange: (d: Doc) => void; workflows: string[]; complete?: CompletionSource }) {
  const set = (k: string, v: JsonValue | undefined) => onChange(withField(doc, k, v));
  const inputs = Array.isArray(doc.inputParameters) ? doc.inputParameters.map(String).join(", ") : "";
  return (
    <div className="stack" aria-label="Workflow form">
      <div className="form-grid">
        <Text label="Workflow name" value={doc.name} onChange={(v) => set("name", v)} />
        <Text label="Version" type="number" value={doc.version} onChange={(v) => set("version", numOrText(v))} />
        <Text label="Description" value={doc.description} onChange={(v) => set("description", v)} />
        <Text label="Owner email" value={doc.ownerEmail} onChange={(v) => set("ownerEmail", v)} />
        <Text label="Timeout (seconds)" type="number" value={doc.timeoutSeconds} onChange={(v) => set("timeoutSeconds", numOrText(v))} />
        <Choice label="Timeout policy" value={doc.timeoutPolicy} options={["ALERT_ONLY", "TIME_OUT_WF"]} onChange={(v) => set("timeoutPolicy", v || undefined)} />
        <Choice label="Failure workflow" value={doc.failureWorkflow} options={["", ...workflows]} onChange={(v) => set("failureWorkflow", v || undefined)} />
        <Text label="Input parameters (names, comma separated)" value={inputs}
          onChange={(v) => set("inputParameters", v.split(",").map((s) => s.trim()).filter(Boolean))} />
      </div>
      <label className="check">
        <input type="checkbox" checked={doc.restartable !== false} onChange={(e) => set("restartable", e.target.checked)} /> Restartable
      </label>
      <JsonField label="Output parameters" value={doc.outputParameters ?? {}} onChange={(v) => set("outputParameters", v)} complete={complete} />
      <JsonField label="Variables" value={doc.variables ?? {}} onChange={(v) => set("variables", v)} />
    </div>
  );
}
