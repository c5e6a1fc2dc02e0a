import { NavLink, Outlet } from "react-router";
import { useState } from "react";
import { useTheme, type ThemeChoice } from "./theme";

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

const NEXT: Record<ThemeChoice, ThemeChoice> = { system: "light", light: "dark", dark: "system" };

export function Layout() {
  const [choice, , setChoice] = useTheme();
  const [open, setOpen] = useState(false);
  return (
    <div className="app">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <NavLink to="/executions" className="brand" aria-label="Baton home">
          <span className="brand-mark" aria-hidden="true">◆</span> Baton
        </NavLink>
        <button
          className="menu-toggle"
          aria-expanded={open}
          aria-controls="mainnav"
          onClick={() => setOpen((o) => !o)}
        >
          Menu
        </button>
        <nav id="mainnav" className={open ? "nav open" : "nav"} aria-label="Main">
          {NAV.map((n) => (
            <NavLink key={n.to} to={n.to} onClick={() => setOpen(false)}>
              {n.label}
            </NavLink>
          ))}
        </nav>
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
        <Outlet />
      </main>
    </div>
  );
}
