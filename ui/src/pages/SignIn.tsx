import { useState } from "react";
import { useLocation } from "react-router";
import { problems } from "../api";
import { ErrorBox } from "../components/common";

/** Asks for an API key; the page that was asked for shows once the server takes it. */
export function SignInPage({ reason, signIn }: { reason?: string; signIn: (key: string) => Promise<void> }) {
  const [key, setKey] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const { pathname } = useLocation();
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await signIn(key);
    } catch (err) {
      setError(problems(err).join("; "));
      setBusy(false);
    }
  };
  return (
    <section className="page signin" aria-labelledby="signin-title">
      <form className="signin-card stack" onSubmit={submit} aria-label="Sign in">
        <h1 id="signin-title">Sign in</h1>
        <p>
          This server asks for credentials. Sign in with an API key to go on to{" "}
          <code>{pathname === "/" ? "/executions" : pathname}</code>.
        </p>
        {reason && (
          <p className="outcome warn" role="status" aria-label="Why">
            The server asked for credentials again: {reason}
          </p>
        )}
        <label>
          API key
          <input
            name="key"
            type="password"
            className="mono"
            autoComplete="current-password"
            autoFocus
            required
            spellCheck={false}
            placeholder="bk_…"
            value={key}
            onChange={(e) => setKey(e.target.value)}
          />
        </label>
        <ErrorBox error={error} />
        <div className="row">
          <button type="submit" className="btn primary" disabled={busy || !key.trim()}>
            {busy ? "Signing in…" : "Sign in"}
          </button>
        </div>
        <p className="muted small">
          An admin makes keys on the Keys page or with <code>baton auth key create</code>; the first one comes from{" "}
          <code>baton auth bootstrap</code>. The session lasts 12 hours, or until the key is revoked.
        </p>
      </form>
    </section>
  );
}
