import { useEffect, useMemo, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { request, qs, fmtTime, type Json } from "../api";
import { useApi, useInterval, ErrorBox, KeyValues, JsonView, ConfirmDialog, StatusBadge, parseJsonInput } from "../components/common";

/** A schedule as the server answers it: its definition as saved, plus its state. */
export interface Schedule {
  name: string;
  paused: boolean;
  pausedReason?: string | null;
  nextRunTime?: number | null;
  createTime: number;
  updatedTime: number;
  cronExpression?: string;
  cronSchedules?: unknown;
  zoneId?: string;
  description?: string;
  overlapPolicy?: string;
  misfirePolicy?: string;
  scheduleStartTime?: number | null;
  scheduleEndTime?: number | null;
  startWorkflowRequest: { name: string; version?: number; input?: Record<string, Json>; correlationId?: string; [k: string]: unknown };
  [k: string]: unknown;
}

interface HistoryEntry {
  scheduledTime: number;
  recordedTime: number;
  event: { type: string; workflowId?: string; kind?: string; workflowStatus?: string; outcome?: string; reason?: string; message?: string; [k: string]: unknown };
}

interface NextSlot {
  scheduledTime: number;
  fireTime: number;
  spec: string;
  kind: string;
}

const OVERLAP = ["SKIP", "BUFFER_ONE", "BUFFER_ALL", "CANCEL_OTHER", "TERMINATE_OTHER", "ALLOW_ALL"];
const MISFIRE = ["SKIP", "RUN_LATEST", "RUN_ALL"];
const READ_ONLY = ["paused", "pausedReason", "nextRunTime", "createTime", "updatedTime"];
const enc = encodeURIComponent;

/** A time in a zone, e.g. "2026-12-07 15:00:00 Europe/Paris". */
function inZone(ms: number, zone?: string): string {
  if (!zone) return fmtTime(ms);
  try {
    const f = new Intl.DateTimeFormat("en-CA", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
    });
    const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second} ${zone}`;
  } catch {
    return fmtTime(ms);
  }
}

function State({ s }: { s: Schedule }) {
  return <StatusBadge status={s.paused ? "PAUSED" : "RUNNING"} />;
}

export function SchedulesPage() {
  const list = useInterval<Schedule[]>("schedules", 5000, () => request<Schedule[]>("GET", "/scheduler/schedules"));
  const [filter, setFilter] = useState("");
  const f = filter.trim().toLowerCase();
  const rows = (list.data ?? []).filter((s) => !f || s.name.toLowerCase().includes(f) || s.startWorkflowRequest?.name?.toLowerCase().includes(f));
  return (
    <section className="page" aria-labelledby="sch-title">
      <div className="page-head">
        <h1 id="sch-title">Schedules</h1>
        <div className="row">
          <label className="inline">
            Filter <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} />
          </label>
          <Link className="btn primary" to="/schedules/new">New schedule</Link>
        </div>
      </div>
      <ErrorBox error={list.error} />
      <div className="table-wrap">
        <table className="grid schedules cards" aria-label="Schedules">
          <thead>
            <tr><th>Name</th><th>State</th><th>Workflow</th><th>When</th><th>Next run</th><th>Overlap</th><th>Updated</th></tr>
          </thead>
          <tbody>
            {rows.map((s) => (
              <tr key={s.name} data-schedule={s.name}>
                <td data-label="Name"><Link to={`/schedules/${enc(s.name)}`}>{s.name}</Link></td>
                <td data-label="State"><State s={s} />{s.pausedReason ? <span className="muted small"> {s.pausedReason}</span> : null}</td>
                <td data-label="Workflow">
                  <Link to={`/definitions/${enc(s.startWorkflowRequest.name)}${s.startWorkflowRequest.version ? "/" + s.startWorkflowRequest.version : ""}`}>
                    {s.startWorkflowRequest.name}
                  </Link>
                  <span className="muted"> {s.startWorkflowRequest.version ? `v${s.startWorkflowRequest.version}` : "latest"}</span>
                </td>
                <td data-label="When" className="mono small">{specOf(s)}{s.zoneId ? <span className="muted"> · {s.zoneId}</span> : null}</td>
                <td data-label="Next run">{s.nextRunTime ? inZone(s.nextRunTime, s.zoneId) : <span className="muted">none</span>}</td>
                <td data-label="Overlap">{s.overlapPolicy ?? ""}</td>
                <td data-label="Updated">{fmtTime(s.updatedTime)}</td>
              </tr>
            ))}
            {list.data && rows.length === 0 && <tr><td colSpan={7} className="empty">No schedules.</td></tr>}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function specOf(s: Schedule): string {
  if (s.cronExpression) return s.cronExpression;
  if (Array.isArray(s.cronSchedules)) return (s.cronSchedules as { cronExpression?: string }[]).map((c) => c.cronExpression ?? "?").join(" | ");
  return "";
}

export function SchedulePage() {
  const { name = "" } = useParams();
  const navigate = useNavigate();
  const [tick, setTick] = useState(0);
  const key = `${name}:${tick}`;
  const sched = useInterval<Schedule>("s:" + key, 5000, () => request<Schedule>("GET", `/scheduler/schedules/${enc(name)}`));
  const next = useInterval<NextSlot[]>("n:" + key, 15000, () => request<NextSlot[]>("GET", `/scheduler/schedules/${enc(name)}/next${qs({ limit: 5 })}`));
  const hist = useInterval<HistoryEntry[]>("h:" + key, 3000, () => request<HistoryEntry[]>("GET", `/scheduler/schedules/${enc(name)}/history${qs({ limit: 50 })}`));
  const [confirm, setConfirm] = useState<null | "delete" | "run">(null);
  const [msg, setMsg] = useState<string>();
  const [error, setError] = useState<string>();
  const s = sched.data;
  const refresh = () => setTick((t) => t + 1);
  const act = async (what: string, run: () => Promise<unknown>) => {
    setError(undefined);
    setMsg(undefined);
    try {
      await run();
      setMsg(what);
      refresh();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <section className="page" aria-labelledby="schd-title">
      <div className="page-head">
        <div>
          <p className="crumbs"><Link to="/schedules">Schedules</Link> /</p>
          <h1 id="schd-title">{name} {s && <State s={s} />}</h1>
        </div>
        {s && (
          <div className="row" role="toolbar" aria-label="Schedule actions">
            {s.paused ? (
              <button className="btn" onClick={() => act("Resumed.", () => request("PUT", `/scheduler/schedules/${enc(name)}/resume`))}>Resume</button>
            ) : (
              <button className="btn" onClick={() => act("Paused.", () => request("PUT", `/scheduler/schedules/${enc(name)}/pause`))}>Pause</button>
            )}
            <button className="btn" onClick={() => setConfirm("run")}>Run now</button>
            <Link className="btn" to={`/schedules/${enc(name)}/edit`}>Edit</Link>
            <button className="btn danger" onClick={() => setConfirm("delete")}>Delete</button>
          </div>
        )}
      </div>
      {msg && <p className="ok" role="status">{msg}</p>}
      <ErrorBox error={error ?? (s ? undefined : sched.error)} />
      {s && (
        <>
          <KeyValues
            items={[
              ["Workflow", <Link to={`/definitions/${enc(s.startWorkflowRequest.name)}${s.startWorkflowRequest.version ? "/" + s.startWorkflowRequest.version : ""}`}>{s.startWorkflowRequest.name} {s.startWorkflowRequest.version ? `v${s.startWorkflowRequest.version}` : "(latest)"}</Link>],
              ["Cron", <span className="mono">{specOf(s)}</span>],
              ["Zone", s.zoneId ?? "UTC"],
              ["Next run", s.nextRunTime ? inZone(s.nextRunTime, s.zoneId) : "none"],
              ["Paused because", s.paused ? s.pausedReason || "—" : ""],
              ["Overlap policy", s.overlapPolicy],
              ["Misfire policy", s.misfirePolicy],
              ["Starts", s.scheduleStartTime ? fmtTime(s.scheduleStartTime) : ""],
              ["Ends", s.scheduleEndTime ? fmtTime(s.scheduleEndTime) : ""],
              ["Description", s.description],
              ["Created", fmtTime(s.createTime)],
              ["Updated", fmtTime(s.updatedTime)],
              ["Runs", <Link to={`/executions?names=${enc(s.startWorkflowRequest.name)}`}>executions of {s.startWorkflowRequest.name}</Link>],
            ]}
          />
          <div className="two-cols">
            <div>
              <h2>Next slots</h2>
              <ErrorBox error={next.error} />
              {next.data && next.data.length === 0 && <p className="muted">None{s.paused ? " while paused" : ""}.</p>}
              <ol className="slots" aria-label="Next slots">
                {(next.data ?? []).map((n) => (
                  <li key={n.scheduledTime}>
                    {inZone(n.scheduledTime, s.zoneId)}
                    {n.fireTime !== n.scheduledTime && <span className="muted small"> (fires {fmtTime(n.fireTime)})</span>}
                    <span className="muted small"> · {fmtTime(n.scheduledTime).slice(0, 19)} here</span>
                  </li>
                ))}
              </ol>
            </div>
            <div>
              <h2>Start request</h2>
              <JsonView value={s.startWorkflowRequest as unknown as Json} label="Start workflow request" />
            </div>
          </div>
          <h2>History</h2>
          <ErrorBox error={hist.error} />
          <div className="table-wrap">
            <table className="grid history cards" aria-label="Schedule history">
              <thead><tr><th>Slot</th><th>Recorded</th><th>Event</th><th>Run</th><th>Details</th></tr></thead>
              <tbody>
                {(hist.data ?? []).map((h, i) => (
                  <tr key={`${h.recordedTime}:${i}`}>
                    <td data-label="Slot">{fmtTime(h.scheduledTime)}</td>
                    <td data-label="Recorded">{fmtTime(h.recordedTime)}</td>
                    <td data-label="Event">{h.event.type}{h.event.kind ? <span className="muted small"> {h.event.kind}</span> : null}</td>
                    <td data-label="Run">
                      {h.event.workflowId ? <Link className="mono small" to={`/execution/${h.event.workflowId}`}>{h.event.workflowId}</Link> : null}
                      {h.event.workflowStatus ? <> <StatusBadge status={h.event.workflowStatus} /></> : null}
                    </td>
                    <td data-label="Details">{[h.event.outcome, h.event.reason, h.event.message].filter(Boolean).join(" · ")}</td>
                  </tr>
                ))}
                {hist.data && hist.data.length === 0 && <tr><td colSpan={5} className="empty">Nothing yet.</td></tr>}
              </tbody>
            </table>
          </div>
        </>
      )}
      {confirm === "delete" && (
        <ConfirmDialog title={`Delete schedule ${name}?`} danger label="Delete" onClose={() => setConfirm(null)}
          run={async () => {
            await request("DELETE", `/scheduler/schedules/${enc(name)}`);
            navigate("/schedules");
          }}>
          <p>Its history goes too; runs it started go on.</p>
        </ConfirmDialog>
      )}
      {confirm === "run" && <RunNowDialog name={name} policy={s?.overlapPolicy} onClose={() => setConfirm(null)} onDone={(ids) => {
        setMsg(ids.length ? `Started ${ids.join(", ")}.` : "No run started (the overlap policy skipped or buffered it).");
        refresh();
      }} />}
    </section>
  );
}

function RunNowDialog({ name, policy, onClose, onDone }: { name: string; policy?: string; onClose: () => void; onDone: (ids: string[]) => void }) {
  const [overlap, setOverlap] = useState("");
  const [input, setInput] = useState("{\n}");
  return (
    <ConfirmDialog title={`Run ${name} now?`} label="Run now" onClose={onClose}
      run={async () => {
        const p = parseJsonInput(input);
        if (p.error) throw new Error("Input: " + p.error);
        const r = await request<{ workflowIds: string[] }>("POST", `/scheduler/schedules/${enc(name)}/trigger${qs({ overlap })}`, p.value ?? {});
        onDone(r?.workflowIds ?? []);
      }}>
      <label>
        Overlap policy
        <select value={overlap} onChange={(e) => setOverlap(e.target.value)}>
          <option value="">the schedule's ({policy ?? "default"})</option>
          {OVERLAP.map((o) => <option key={o}>{o}</option>)}
        </select>
      </label>
      <div>
        <span className="muted small">Input merged over the schedule's</span>
        <JsonView value={input} editable onChange={setInput} label="Run now input" minHeight="4em" />
      </div>
    </ConfirmDialog>
  );
}

/** epoch ms to a datetime-local value, and back (the page's time zone). */
const toLocal = (ms?: number | null) => {
  if (!ms) return "";
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
};
const fromLocal = (v: string) => (v ? new Date(v).getTime() : undefined);

export function ScheduleEditPage() {
  const { name } = useParams();
  const editing = name !== undefined;
  const navigate = useNavigate();
  const existing = useApi(editing ? "s:" + name : null, () => request<Schedule>("GET", `/scheduler/schedules/${enc(name!)}`));
  const nv = useApi("nv", () => request<Record<string, { version: number }[]>>("GET", "/metadata/workflow/names-and-versions"));
  const orig = existing.data;
  if (editing && !orig) {
    return (
      <section className="page"><ErrorBox error={existing.error} />{!existing.error && <p className="muted">Loading…</p>}</section>
    );
  }
  return <ScheduleForm key={name ?? ""} orig={orig} workflows={nv.data ?? {}} onSaved={(n) => navigate(`/schedules/${enc(n)}`)} />;
}

function ScheduleForm({ orig, workflows, onSaved }: { orig?: Schedule; workflows: Record<string, { version: number }[]>; onSaved: (name: string) => void }) {
  const swr = orig?.startWorkflowRequest;
  const [name, setName] = useState(orig?.name ?? "");
  const [description, setDescription] = useState(orig?.description ?? "");
  const [cron, setCron] = useState(orig ? orig.cronExpression ?? "" : "0 0 * * * ?");
  // Several specs (Conductor's cronSchedules) are kept as saved; the form edits cronExpression.
  const multi = Array.isArray(orig?.cronSchedules) && (orig!.cronSchedules as unknown[]).length > 0;
  const [zone, setZone] = useState(orig?.zoneId ?? "UTC");
  const [wfName, setWfName] = useState(swr?.name ?? "");
  const [wfVersion, setWfVersion] = useState(swr?.version ? String(swr.version) : "");
  const [input, setInput] = useState(JSON.stringify(swr?.input ?? {}, null, 2));
  const [correlationId, setCorrelationId] = useState(swr?.correlationId ?? "");
  const [overlap, setOverlap] = useState(orig?.overlapPolicy ?? "");
  const [misfire, setMisfire] = useState(orig?.misfirePolicy ?? "");
  const [startAt, setStartAt] = useState(toLocal(orig?.scheduleStartTime));
  const [endAt, setEndAt] = useState(toLocal(orig?.scheduleEndTime));
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const zones = useMemo(() => {
    try {
      return (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.("timeZone") ?? [];
    } catch {
      return [];
    }
  }, []);

  // Live preview of the next fire times, computed by the server.
  const [preview, setPreview] = useState<{ times?: number[]; error?: string; loading?: boolean }>({});
  useEffect(() => {
    if (!cron.trim()) return setPreview(multi ? {} : { error: "Enter a cron expression" });
    let live = true;
    setPreview((p) => ({ ...p, loading: true }));
    const t = setTimeout(() => {
      request<number[]>("GET", `/scheduler/nextFewSchedules${qs({ cronExpression: cron.trim(), zoneId: zone.trim() || undefined, limit: 5, scheduleStartTime: fromLocal(startAt), scheduleEndTime: fromLocal(endAt) })}`).then(
        (times) => live && setPreview({ times: times ?? [] }),
        (e: Error) => live && setPreview({ error: e.message }),
      );
    }, 250);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [cron, zone, startAt, endAt, multi]);

  const versions = (workflows[wfName] ?? []).map((v) => v.version).sort((a, b) => b - a);
  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setError(undefined);
    const inp = parseJsonInput(input);
    if (inp.error) return setError("Input: " + inp.error);
    // Start from the saved schedule so fields this form does not show are kept as they are.
    const body: Record<string, unknown> = { ...(orig ?? {}) };
    for (const k of READ_ONLY) delete body[k];
    const set = (k: string, v: unknown) => (v === undefined || v === "" ? delete body[k] : (body[k] = v));
    set("name", name.trim());
    set("description", description.trim());
    set("cronExpression", cron.trim());
    set("zoneId", zone.trim());
    set("overlapPolicy", overlap);
    set("misfirePolicy", misfire);
    set("scheduleStartTime", fromLocal(startAt));
    set("scheduleEndTime", fromLocal(endAt));
    const req: Record<string, unknown> = { ...(swr ?? {}), name: wfName.trim(), input: inp.value };
    if (wfVersion) req.version = Number(wfVersion);
    else delete req.version;
    if (correlationId.trim()) req.correlationId = correlationId.trim();
    else delete req.correlationId;
    body.startWorkflowRequest = req;
    setBusy(true);
    try {
      const saved = await request<Schedule>("POST", "/scheduler/schedules", body);
      onSaved(saved?.name ?? name.trim());
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };

  return (
    <section className="page" aria-labelledby="sche-title">
      <div className="page-head">
        <div>
          <p className="crumbs"><Link to="/schedules">Schedules</Link> /{orig && <> <Link to={`/schedules/${enc(orig.name)}`}>{orig.name}</Link> /</>}</p>
          <h1 id="sche-title">{orig ? `Edit ${orig.name}` : "New schedule"}</h1>
        </div>
      </div>
      <form className="schedule-form" onSubmit={save} aria-label="Schedule">
        <div className="stack">
          <label>Name<input required value={name} onChange={(e) => setName(e.target.value)} readOnly={!!orig} /></label>
          <label>Description<input value={description} onChange={(e) => setDescription(e.target.value)} /></label>
          <fieldset className="stack">
            <legend>When</legend>
            <label>
              Cron expression
              <input required={!multi} className="mono" value={cron} onChange={(e) => setCron(e.target.value)} aria-describedby="cron-help" spellCheck={false} />
            </label>
            <span id="cron-help" className="muted small">5 fields (minute first), 6 (second first), 7 (year last) or a macro such as @daily.</span>
            {multi && (
              <p className="small">
                Also fires on its <code>cronSchedules</code>, kept as saved:{" "}
                <span className="mono">{specOf({ ...orig!, cronExpression: undefined })}</span>
              </p>
            )}
            <label>
              Zone
              <input list="zones" value={zone} onChange={(e) => setZone(e.target.value)} spellCheck={false} />
              <datalist id="zones">{zones.map((z) => <option key={z} value={z} />)}</datalist>
            </label>
            <div className="row">
              <label>Not before (your time)<input type="datetime-local" value={startAt} onChange={(e) => setStartAt(e.target.value)} /></label>
              <label>Not after (your time)<input type="datetime-local" value={endAt} onChange={(e) => setEndAt(e.target.value)} /></label>
            </div>
          </fieldset>
          <fieldset className="stack">
            <legend>Workflow</legend>
            <div className="row">
              <label>
                Workflow name
                <input required list="wfnames" value={wfName} onChange={(e) => setWfName(e.target.value)} />
                <datalist id="wfnames">{Object.keys(workflows).sort().map((n) => <option key={n} value={n} />)}</datalist>
              </label>
              <label>
                Version
                <select value={wfVersion} onChange={(e) => setWfVersion(e.target.value)}>
                  <option value="">latest</option>
                  {versions.map((v) => <option key={v} value={v}>v{v}</option>)}
                  {wfVersion && !versions.includes(Number(wfVersion)) && <option value={wfVersion}>v{wfVersion}</option>}
                </select>
              </label>
              <label>Correlation id<input value={correlationId} onChange={(e) => setCorrelationId(e.target.value)} /></label>
            </div>
            <div>
              <span className="muted small">Input</span>
              <JsonView value={input} editable onChange={setInput} label="Workflow input" minHeight="5em" />
            </div>
          </fieldset>
          <div className="row">
            <label>
              Overlap policy
              <select value={overlap} onChange={(e) => setOverlap(e.target.value)}>
                <option value="">server default</option>
                {OVERLAP.map((o) => <option key={o}>{o}</option>)}
              </select>
            </label>
            <label>
              Misfire policy
              <select value={misfire} onChange={(e) => setMisfire(e.target.value)}>
                <option value="">server default</option>
                {MISFIRE.map((o) => <option key={o}>{o}</option>)}
              </select>
            </label>
          </div>
          <ErrorBox error={error} />
          <div className="row">
            <button type="submit" className="btn primary" disabled={busy}>{orig ? "Save" : "Create"}</button>
            <Link className="btn" to={orig ? `/schedules/${enc(orig.name)}` : "/schedules"}>Cancel</Link>
          </div>
        </div>
        <aside className="preview" aria-label="Next fire times" aria-busy={!!preview.loading}>
          <h2>Next fire times</h2>
          {multi && !cron.trim() ? (
            <p className="muted small">See the schedule's page for the slots of its cronSchedules.</p>
          ) : preview.error ? (
            <p className="error small" role="alert">{preview.error}</p>
          ) : (
            <ol className="slots">
              {(preview.times ?? []).map((t) => (
                <li key={t}>{inZone(t, zone.trim() || "UTC")}<span className="muted small"> · {fmtTime(t).slice(0, 19)} here</span></li>
              ))}
              {preview.times && preview.times.length === 0 && <li className="muted">None in this range.</li>}
            </ol>
          )}
        </aside>
      </form>
    </section>
  );
}
