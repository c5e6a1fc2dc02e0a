import { useRef, useState } from "react";
import { request, problems, fmtTime, ROLES, type ApiKey, type NewApiKey } from "../api";
import { useApi, ErrorBox, ConfirmDialog, RoleBadge } from "../components/common";
import { useSession } from "../session";

const ROLE_HINTS: Record<string, string> = {
  admin: "everything, keys and definitions included",
  operator: "start and steer runs, schedules, read",
  worker: "poll tasks and report their results",
  viewer: "read only",
};

export function KeysPage() {
  const session = useSession();
  const list = useApi("keys", () => request<ApiKey[]>("GET", "/admin/keys"));
  const [name, setName] = useState("");
  const [role, setRole] = useState<string>("viewer");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [made, setMade] = useState<NewApiKey>();
  const [revoke, setRevoke] = useState<ApiKey>();
  const keys = list.data ?? [];
  const names = new Map(keys.map((k) => [k.id, k.name]));

  const create = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setMade(undefined);
    try {
      setMade(await request<NewApiKey>("POST", "/admin/keys", { name: name.trim(), role }));
      setName("");
      list.reload();
    } catch (err) {
      setError(problems(err).join("; "));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="page" aria-labelledby="keys-title">
      <div className="page-head">
        <div>
          <h1 id="keys-title">API keys</h1>
          <p className="muted small">
            Workers, clients and people signing in here each use a key; its role says what it may do.
          </p>
        </div>
        <button className="btn" onClick={list.reload} aria-label="Refresh keys">↻ Refresh</button>
      </div>

      <form className="filters key-form" onSubmit={create} aria-label="New key">
        <label>
          Name
          <input name="name" required maxLength={200} placeholder="billing-workers" value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Role
          <select name="role" value={role} onChange={(e) => setRole(e.target.value)}>
            {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
          </select>
        </label>
        <div className="filter-actions">
          <button type="submit" className="btn primary" disabled={busy || !name.trim()}>Create key</button>
          <span className="muted small">{role}: {ROLE_HINTS[role]}</span>
        </div>
      </form>
      <ErrorBox error={error} />
      {made && <NewKey made={made} onClose={() => setMade(undefined)} />}

      <ErrorBox error={list.error} />
      <div className="table-wrap" aria-busy={list.loading}>
        <table className="grid keys cards" aria-label="API keys">
          <thead>
            <tr><th>Id</th><th>Name</th><th>Role</th><th>Created</th><th>Created by</th><th>Revoked</th><th><span className="sr-only">Actions</span></th></tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.id} data-key={k.id} className={k.revokedAt ? "revoked" : undefined}>
                <td data-label="Id" className="mono">{k.id}</td>
                <td data-label="Name">
                  {k.name}
                  {k.id === session.keyId && <span className="muted small"> (you)</span>}
                </td>
                <td data-label="Role"><RoleBadge role={k.role} /></td>
                <td data-label="Created">{fmtTime(k.createdAt)}</td>
                <td data-label="Created by">
                  {names.has(k.createdBy) ? (
                    <>{names.get(k.createdBy)} <span className="mono muted small">{k.createdBy}</span></>
                  ) : (
                    <span className="muted">{k.createdBy}</span>
                  )}
                </td>
                <td data-label="Revoked">
                  {k.revokedAt ? (
                    <><span className="badge st-FAILED">revoked</span> <span className="small">{fmtTime(k.revokedAt)}</span></>
                  ) : (
                    <span className="muted">no</span>
                  )}
                </td>
                <td className="actions">
                  {!k.revokedAt && (
                    <button className="btn small danger" onClick={() => setRevoke(k)} aria-label={`Revoke ${k.name} (${k.id})`}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
            {list.data && keys.length === 0 && (
              <tr><td colSpan={7} className="empty">No keys yet.</td></tr>
            )}
          </tbody>
        </table>
      </div>

      {revoke && (
        <ConfirmDialog title={`Revoke key ${revoke.name}?`} danger label="Revoke" onClose={() => setRevoke(undefined)}
          run={async () => {
            await request("DELETE", `/admin/keys/${encodeURIComponent(revoke.id)}`);
            list.reload();
          }}>
          <p>
            Key <code>{revoke.id}</code> ({revoke.role}) and every session and token made from it are refused from now on.
            This cannot be undone.
          </p>
          {revoke.id === session.keyId && <p className="warn">This is the key you are signed in with: you will be signed out.</p>}
        </ConfirmDialog>
      )}
    </section>
  );
}

/** A key just made: its text, shown this once, to copy. */
function NewKey({ made, onClose }: { made: NewApiKey; onClose: () => void }) {
  const [copied, setCopied] = useState<string>();
  const field = useRef<HTMLInputElement>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(made.keyText);
      setCopied("Copied.");
    } catch {
      field.current?.select();
      setCopied(document.execCommand("copy") ? "Copied." : "Select the key and copy it.");
    }
  };
  return (
    <div className="outcome new-key" role="region" aria-label="New key">
      <div className="outcome-head">
        <strong>
          Key “{made.key.name}” made, role {made.key.role}
        </strong>
        <button className="btn small" onClick={onClose} aria-label="Dismiss new key">✕</button>
      </div>
      <p className="warn">
        Copy it now: it will not be shown again. The server keeps only a digest of it.
      </p>
      <div className="row key-row">
        <input
          ref={field}
          readOnly
          className="mono key-text"
          aria-label="Key text"
          value={made.keyText}
          onFocus={(e) => e.target.select()}
        />
        <button className="btn primary" onClick={() => void copy()}>Copy</button>
        {copied && <span className="ok" role="status">{copied}</span>}
      </div>
      <p className="muted small">
        Sign in here with it, send it as <code>authorization: Bearer …</code> or pass it as <code>--api-key</code>.
        Conductor clients take <code>{made.key.id}</code> as keyId and what follows <code>bk_{made.key.id}_</code> as keySecret.
      </p>
    </div>
  );
}
