import { NavLink, Outlet } from "react-router";
import { Fragment, useState } from "react";
import { useTheme, type ThemeChoice } from "./theme";
import { useSessionState, SessionProvider, isAdmin } from "../session";
import { SignInPage } from "../pages/SignIn";
import { RoleBadge } from "./common";

const NAV = [
  { to: "/executions", label: "Executions" },
  { to: "/tasks", label: "Tasks" },
  { to: "/definitions", label: "Definitions" },
  { to: "/taskdefs", label: "Task definitions" },
  { to: "/eventhandlers", label: "Event handlers" },
  { to: "/schedules", label: "Schedules" },
  { to: "/queues", label: "Queues" },
  { to: "/dashboard", label: "Dashboard" },
];

/** Pages for admins (and for everyone when the server asks for no credentials). */
const ADMIN_NAV = [
  { to: "/keys", label: "Keys" },
  { to: "/audit", label: "Audit" },
];

const NEXT: Record<ThemeChoice, ThemeChoice> = { system: "light", light: "dark", dark: "system" };

export function Layout() {
  const [choice, , setChoice] = useTheme();
  const [open, setOpen] = useState(false);
  const auth = useSessionState();
  const s = auth.session;
  const signingIn = !!s && s.authEnabled && !s.signedIn;
  const nav = s && !signingIn ? [...NAV, ...(isAdmin(s) ? ADMIN_NAV : [])] : [];
  return (
    <div className="app">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <NavLink to="/executions" className="brand" aria-label="Baton home">
          <span className="brand-mark" aria-hidden="true">◆</span> Baton
        </NavLink>
        {nav.length > 0 && (
          <button
            className="menu-toggle"
            aria-expanded={open}
            aria-controls="mainnav"
            onClick={() => setOpen((o) => !o)}
          >
            Menu
          </button>
        )}
        <nav id="mainnav" className={open ? "nav open" : "nav"} aria-label="Main">
          {nav.map((n) => (
            <NavLink key={n.to} to={n.to} onClick={() => setOpen(false)}>
              {n.label}
            </NavLink>
          ))}
        </nav>
        {s?.authEnabled && s.signedIn && (
          <div className="who" role="group" aria-label="Signed in">
            <span className="who-name" title={`API key ${s.keyId ?? ""}`}>{s.name}</span>
            {s.role && <RoleBadge role={s.role} />}
            <button className="btn small" onClick={() => void auth.signOut()}>
              Sign out
            </button>
          </div>
        )}
        <button
          className="theme-toggle"
          onClick={() => setChoice(NEXT[choice])}
          title="Colour theme: system, light or dark"
          aria-label={`Theme: ${choice}. Switch to ${NEXT[choice]}`}
        >
          {choice === "system" ? "◐ Auto" : choice === "light" ? "☀ Light" : "☾ Dark"}
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {!s ? (
          <p className="muted">Loading…</p>
        ) : signingIn ? (
          <SignInPage reason={auth.reason} signIn={auth.signIn} />
        ) : (
          <SessionProvider value={s}>
            <Fragment key={auth.epoch}>
              <Outlet />
            </Fragment>
          </SessionProvider>
        )}
      </main>
    </div>
  );
}
