import { useMemo, useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { request, problems, type Json } from "../api";
import { DefEditor, NEW_EVENT_HANDLER } from "../components/DefEditor";
import { reindent } from "../jsonText";
import { useApi, ErrorBox, JsonView, KeyValues, Tabs, ConfirmDialog } from "../components/common";

/** An event handler as the server answers it (Conductor's shape; other fields kept). */
interface Handler {
  name: string;
  event: string;
  condition?: string;
  evaluatorType?: string;
  active?: boolean;
  actions?: { action?: string; [k: string]: unknown }[];
  [k: string]: unknown;
}

const load = () => request<Handler[]>("GET", "/event");

const actionNames = (h: Handler) => (h.actions ?? []).map((a) => a.action ?? "?").join(", ");

export function EventHandlersPage() {
  const list = useApi("eventhandlers", load);
  const [filter, setFilter] = useState("");
  const f = filter.trim().toLowerCase();
  const rows = useMemo(
    () =>
      (list.data ?? [])
        .filter((h) => !f || h.name.toLowerCase().includes(f) || h.event.toLowerCase().includes(f))
        .sort((a, b) => a.name.localeCompare(b.name)),
    [list.data, f],
  );
  return (
    <section className="page" aria-labelledby="eh-title">
      <div className="page-head">
        <h1 id="eh-title">Event handlers</h1>
        <div className="row">
          <label className="inline">
            Filter <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} />
          </label>
          <Link className="btn primary" to="/eventhandlers/new">New event handler</Link>
        </div>
      </div>
      <ErrorBox error={list.error} />
      <div className="table-wrap">
        <table className="grid" aria-label="Event handlers">
          <thead>
            <tr><th>Name</th><th>Event</th><th>State</th><th>Condition</th><th>Actions</th></tr>
          </thead>
          <tbody>
            {rows.map((h) => (
              <tr key={h.name}>
                <td><Link to={`/eventhandlers/${encodeURIComponent(h.name)}`}>{h.name}</Link></td>
                <td className="mono">{h.event}</td>
                <td>{h.active ? <span className="badge st-COMPLETED">ACTIVE</span> : <span className="badge st-CANCELED">INACTIVE</span>}</td>
                <td className="mono reason" title={h.condition ?? ""}>{h.condition}</td>
                <td>{actionNames(h)}</td>
              </tr>
            ))}
            {!list.loading && rows.length === 0 && <tr><td colSpan={5} className="empty">No event handlers.</td></tr>}
          </tbody>
        </table>
      </div>
    </section>
  );
}

export function EventHandlerPage() {
  const { name = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const tab = params.get("tab") === "edit" ? "edit" : "details";
  const [version, setVersion] = useState(0);
  const list = useApi(`eventhandlers:${version}`, load);
  const h = list.data?.find((x) => x.name === name);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);

  const setActive = async (active: boolean) => {
    if (!h) return;
    setBusy(true);
    setError(undefined);
    try {
      await request("PUT", "/event", { ...h, active });
      setVersion((v) => v + 1);
    } catch (e) {
      setError(problems(e).join("; "));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="page" aria-labelledby="ehv-title">
      <div className="page-head">
        <div>
          <p className="crumbs"><Link to="/eventhandlers">Event handlers</Link> /</p>
          <h1 id="ehv-title">
            {name}{" "}
            {h && (h.active ? <span className="badge st-COMPLETED">ACTIVE</span> : <span className="badge st-CANCELED">INACTIVE</span>)}
          </h1>
        </div>
        {h && (
          <div className="row" role="toolbar" aria-label="Handler actions">
            <button className="btn" disabled={busy} onClick={() => setActive(!h.active)}>{h.active ? "Deactivate" : "Activate"}</button>
            <button className="btn danger" disabled={busy} onClick={() => setConfirmDelete(true)}>Delete</button>
          </div>
        )}
      </div>
      <ErrorBox error={list.error ?? error} />
      {list.data && !h && <ErrorBox error={`No event handler is named ${name}.`} />}
      {h && (
        <Tabs label="Event handler views" tabs={[{ id: "details", label: "Details" }, { id: "edit", label: "Edit" }]} current={tab}
          onSelect={(x) => setParams(x === "details" ? {} : { tab: x })} />
      )}
      {h && tab === "edit" && (
        <DefEditor key={`${version}`} kind="event" draftKey={`baton.editor.draft:event:${name}`} initial={reindent(JSON.stringify(h))} onSaved={(n) => {
          setVersion((v) => v + 1);
          if (n === name) setParams({});
          else navigate(`/eventhandlers/${encodeURIComponent(n)}`);
        }} />
      )}
      {h && tab === "details" && (
        <>
          <KeyValues
            items={[
              ["Event", <code key="e">{h.event}</code>],
              ["Condition", h.condition ? <code key="c">{h.condition}</code> : "always"],
              ["Evaluator", h.evaluatorType ?? ""],
              ["Actions", actionNames(h)],
            ]}
          />
          <h2>JSON</h2>
          <JsonView value={h as unknown as Json} label="Event handler JSON" />
        </>
      )}
      {confirmDelete && (
        <ConfirmDialog title={`Delete event handler ${name}?`} danger label="Delete" onClose={() => setConfirmDelete(false)}
          run={async () => {
            try {
              await request("DELETE", `/event/${encodeURIComponent(name)}`);
            } catch (e) {
              throw new Error(problems(e).join("; "));
            }
            navigate("/eventhandlers");
          }}>
          <p>Events it would have handled are no longer acted on.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

export function NewEventHandlerPage() {
  const navigate = useNavigate();
  return (
    <section className="page" aria-labelledby="neweh-title">
      <div className="page-head">
        <div>
          <p className="crumbs"><Link to="/eventhandlers">Event handlers</Link> /</p>
          <h1 id="neweh-title">New event handler</h1>
        </div>
      </div>
      <DefEditor kind="event" create draftKey="baton.editor.draft:event:new" initial={NEW_EVENT_HANDLER} onSaved={(n) => navigate(`/eventhandlers/${encodeURIComponent(n)}`)} />
    </section>
  );
}
