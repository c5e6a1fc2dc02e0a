import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createBrowserRouter, RouterProvider, Navigate } from "react-router";
import "./styles.css";
import { Layout } from "./components/Layout";
import { ExecutionsPage } from "./pages/Executions";
import { ExecutionPage } from "./pages/Execution";
import { DefinitionsPage, DefinitionPage, NewDefinitionPage } from "./pages/Definitions";
import { TaskDefsPage, TaskDefPage, NewTaskDefPage } from "./pages/TaskDefs";
import { QueuesPage } from "./pages/Queues";
import { DashboardPage } from "./pages/Dashboard";
import { TaskSearchPage } from "./pages/TaskSearch";
import { EventHandlersPage, EventHandlerPage, NewEventHandlerPage } from "./pages/EventHandlers";
import { SchedulesPage, SchedulePage, ScheduleEditPage } from "./pages/Schedules";
import { KeysPage } from "./pages/Keys";
import { AuditPage } from "./pages/Audit";
import { NotFound } from "./components/common";
import { DesignerPage } from "./designer/DesignerPage";

const router = createBrowserRouter([
  {
    element: <Layout />,
    children: [
      { path: "/", element: <Navigate to="/executions" replace /> },
      { path: "/executions", element: <ExecutionsPage /> },
      { path: "/execution/:id", element: <ExecutionPage /> },
      { path: "/definitions", element: <DefinitionsPage /> },
      { path: "/definitions/new", element: <NewDefinitionPage /> },
      { path: "/definitions/:name", element: <DefinitionPage /> },
      { path: "/definitions/:name/:version", element: <DefinitionPage /> },
      { path: "/designer/new", element: <DesignerPage /> },
      { path: "/designer/:name/:version", element: <DesignerPage /> },
      { path: "/taskdefs", element: <TaskDefsPage /> },
      { path: "/taskdefs/new", element: <NewTaskDefPage /> },
      { path: "/taskdefs/:name", element: <TaskDefPage /> },
      { path: "/queues", element: <QueuesPage /> },
      { path: "/dashboard", element: <DashboardPage /> },
      { path: "/keys", element: <KeysPage /> },
      { path: "/audit", element: <AuditPage /> },
      { path: "/tasks", element: <TaskSearchPage /> },
      { path: "/eventhandlers", element: <EventHandlersPage /> },
      { path: "/eventhandlers/new", element: <NewEventHandlerPage /> },
      { path: "/eventhandlers/:name", element: <EventHandlerPage /> },
      { path: "/schedules", element: <SchedulesPage /> },
      { path: "/schedules/new", element: <ScheduleEditPage /> },
      { path: "/schedules/:name", element: <SchedulePage /> },
      { path: "/schedules/:name/edit", element: <ScheduleEditPage /> },
      { path: "*", element: <NotFound /> },
    ],
  },
]);

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <RouterProvider router={router} />
  </StrictMode>,
);
