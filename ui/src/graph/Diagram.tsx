import { memo, useEffect, useMemo, useRef, useState } from "react";
import {
  ReactFlow, Background, Controls, Handle, Position, MarkerType, useReactFlow, ReactFlowProvider,
  BaseEdge, EdgeText, getSmoothStepPath,
  type Node, type Edge, type NodeProps, type EdgeProps,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import ELK, { type ElkNode, type ElkExtendedEdge } from "elkjs/lib/elk-api.js";
import elkWorkerUrl from "elkjs/lib/elk-worker.min.js?url";
import { Link } from "react-router";
import type { GNode, Graph } from "./build";
import { useResolvedTheme } from "../components/theme";

// Layout runs in a worker of its own: a big graph takes seconds, and the page stays usable.
const elk = new ELK({ workerUrl: elkWorkerUrl });

/** Above this many nodes, branch order is left to ELK: keeping the model's order costs it
 * time that grows much faster than the graph (a 1,000-branch fork: 86 s instead of 1 s). */
const ORDERED_LAYOUT_MAX = 150;

export const SIZE: Record<string, [number, number]> = {
  start: [90, 34], end: [120, 34], merge: [18, 18], switch: [210, 64], fork: [180, 58], join: [180, 58],
  dynfork: [210, 56], task: [210, 60], sub: [210, 72], terminate: [190, 56], more: [210, 56], loop: [230, 60], group: [240, 64],
};

interface NodeData extends Record<string, unknown> {
  g: GNode;
  selected: boolean;
  onSelect: (n: GNode) => void;
  onIter: (loopId: string, iter: number) => void;
  onExpand?: (subId: string, open: boolean) => void;
}

/** ELK positions (children relative to their loop, as React Flow wants them). */
export type Pt = { x: number; y: number };
export interface Laid {
  pos: Map<string, { x: number; y: number; w: number; h: number }>;
  routes: Map<string, { points: Pt[]; label?: Pt }>;
}

const labelWidth = (t: string) => Math.ceil(t.length * 6.6) + 10;

export async function layout(graph: { nodes: { id: string; kind: string; parent?: string; expanded?: boolean }[]; edges: { id: string; source: string; target: string; label?: string }[] }, sizes: Record<string, [number, number]> = SIZE): Promise<Laid> {
  const elkNodes = new Map<string, ElkNode>();
  const root: ElkNode = {
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "DOWN",
      "elk.hierarchyHandling": "INCLUDE_CHILDREN",
      "elk.layered.spacing.nodeNodeBetweenLayers": "42",
      "elk.spacing.nodeNode": "28",
      "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF",
      "elk.edgeRouting": "ORTHOGONAL",
      // Branches keep the order they have in the definition (or in the run), unless the
      // graph is too big for it; then edges into one node share their last stretch.
      ...(graph.nodes.length <= ORDERED_LAYOUT_MAX
        ? { "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES" }
        : { "elk.layered.considerModelOrder.strategy": "NONE", "elk.layered.mergeEdges": "true" }),
      // Every edge's route in the root's coordinates, whatever loop it sits in.
      "elk.json.edgeCoords": "ROOT",
      "elk.edgeLabels.placement": "CENTER",
      "elk.spacing.edgeLabel": "3",
    },
    children: [],
    edges: [],
  };
  for (const n of graph.nodes) {
    const [w, h] = sizes[n.kind] ?? SIZE[n.kind] ?? SIZE.task;
    const en: ElkNode = n.kind === "loop" || n.expanded
      ? { id: n.id, children: [], layoutOptions: { "elk.padding": `[top=${n.expanded ? 92 : 70},left=16,bottom=16,right=16]` }, width: w, height: h }
      : { id: n.id, width: w, height: h };
    elkNodes.set(n.id, en);
  }
  for (const n of graph.nodes) {
    const en = elkNodes.get(n.id)!;
    const parent = n.parent ? elkNodes.get(n.parent) : root;
    (parent ?? root).children!.push(en);
  }
  root.edges = graph.edges.map(
    (e) =>
      ({
        id: e.id,
        sources: [e.source],
        targets: [e.target],
        labels: e.label ? [{ id: e.id + "_l", text: e.label, width: labelWidth(e.label), height: 16 }] : undefined,
      }) as ElkExtendedEdge,
  );
  const out = await elk.layout(root);
  const routes = new Map<string, { points: Pt[]; label?: Pt }>();
  const collectEdges = (n: ElkNode) => {
    for (const e of (n.edges ?? []) as ElkExtendedEdge[]) {
      const sec = e.sections?.[0];
      if (!sec) continue;
      const l = e.labels?.[0];
      routes.set(e.id, {
        points: [sec.startPoint, ...(sec.bendPoints ?? []), sec.endPoint],
        label: l && l.x !== undefined ? { x: l.x + (l.width ?? 0) / 2, y: (l.y ?? 0) + (l.height ?? 0) / 2 } : undefined,
      });
    }
    for (const c of n.children ?? []) collectEdges(c);
  };
  collectEdges(out);
  const pos = new Map<string, { x: number; y: number; w: number; h: number }>();
  const walk = (n: ElkNode) => {
    for (const c of n.children ?? []) {
      pos.set(c.id, { x: c.x ?? 0, y: c.y ?? 0, w: c.width ?? 0, h: c.height ?? 0 });
      walk(c);
    }
  };
  walk(out);
  return { pos, routes };
}

/** Nodes ordered parents before their children, as React Flow wants them (containers may
 * nest: a loop in a child run drawn in place, or in an inline child workflow). */
export function parentsFirst<N extends { id: string; parent?: string }>(nodes: N[]): N[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const depth = (n: N) => {
    let d = 0;
    for (let p = n.parent; p && d < 64; p = byId.get(p)?.parent) d++;
    return d;
  };
  return [...nodes].sort((a, b) => depth(a) - depth(b));
}

/** Width and height of the laid-out drawing (its top-level nodes). */
export function extentOf(nodes: { id: string; parent?: string }[], pos: Laid["pos"] | undefined): { w: number; h: number } {
  let w = 0, h = 0;
  if (pos) for (const g of nodes) {
    if (g.parent) continue;
    const p = pos.get(g.id);
    if (p) { w = Math.max(w, p.x + p.w); h = Math.max(h, p.y + p.h); }
  }
  return { w, h };
}

/** A polyline with rounded corners. */
function roundedPath(pts: Pt[], r = 8): string {
  let d = `M ${pts[0].x} ${pts[0].y}`;
  for (let i = 1; i < pts.length - 1; i++) {
    const [a, b, c] = [pts[i - 1], pts[i], pts[i + 1]];
    const d1 = Math.hypot(b.x - a.x, b.y - a.y), d2 = Math.hypot(c.x - b.x, c.y - b.y);
    const k = Math.min(r, d1 / 2, d2 / 2);
    const p1 = { x: b.x - ((b.x - a.x) / (d1 || 1)) * k, y: b.y - ((b.y - a.y) / (d1 || 1)) * k };
    const p2 = { x: b.x + ((c.x - b.x) / (d2 || 1)) * k, y: b.y + ((c.y - b.y) / (d2 || 1)) * k };
    d += ` L ${p1.x} ${p1.y} Q ${b.x} ${b.y} ${p2.x} ${p2.y}`;
  }
  const last = pts[pts.length - 1];
  return d + ` L ${last.x} ${last.y}`;
}

/** Draws the route ELK chose (so edges go around nodes, loops included). */
export function RoutedEdge(props: EdgeProps<Edge<{ points?: Pt[]; labelAt?: Pt }>>) {
  const { data, markerEnd, label, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition } = props;
  let path: string;
  let at: Pt | undefined = data?.labelAt;
  if (data?.points && data.points.length >= 2) {
    path = roundedPath(data.points);
  } else {
    const [p, lx, ly] = getSmoothStepPath({ sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition });
    path = p;
    at = at ?? { x: lx, y: ly };
  }
  return (
    <>
      <BaseEdge path={path} markerEnd={markerEnd} />
      {label && at ? (
        <EdgeText x={at.x} y={at.y} label={label} labelBgPadding={[4, 2]} labelBgBorderRadius={4} />
      ) : null}
    </>
  );
}

const statusClass = (g: GNode) =>
  g.status ? `st-${g.status}` : g.notReached ? "not-reached" : "no-status";

function statusText(g: GNode) {
  if (g.status) return g.status.replace(/_/g, " ");
  if (g.notReached) return "not reached";
  return "";
}

const FlowNode = memo(function FlowNode({ data }: NodeProps<Node<NodeData>>) {
  const { g, selected, onSelect, onIter, onExpand } = data;
  const hasTarget = g.kind !== "start";
  const hasSource = g.kind !== "end" && g.kind !== "terminate";
  const handles = (
    <>
      {hasTarget && <Handle type="target" position={Position.Top} isConnectable={false} />}
      {hasSource && <Handle type="source" position={Position.Bottom} isConnectable={false} />}
    </>
  );
  if (g.kind === "merge") return <div className={`gnode merge ${statusClass(g)}`} title="branches meet">{handles}</div>;
  if (g.kind === "start" || g.kind === "end")
    return <div className={`gnode pill ${statusClass(g)}`} data-node={g.id} data-status={g.status ?? ""}>{handles}{g.label}</div>;
  const clickable = !!g.attempts?.length || g.kind !== "more";
  const body = (
    <>
      <span className="gn-title" title={g.label}>{g.label}</span>
      <span className="gn-type">{g.type}{g.kind === "task" && g.detail && g.detail !== "SIMPLE" ? ` · ${g.detail}` : ""}</span>
      {(g.status || g.notReached) && <span className="gn-status">{statusText(g)}{g.attempts && g.attempts.length > 1 ? ` · ${g.attempts.length} attempts` : ""}</span>}
    </>
  );
  return (
    <div
      className={`gnode k-${g.kind} ${g.expanded ? "expanded-sub" : ""} ${statusClass(g)} ${selected ? "sel" : ""}`}
      data-node={g.id}
      data-status={g.status ?? (g.notReached ? "NOT_REACHED" : "")}
    >
      {handles}
      {g.expanded ? (
        <div className="loop-head">
          <button className="gn-main nodrag" onClick={() => onSelect(g)} aria-label={`Task ${g.label} (SUB_WORKFLOW) ${statusText(g)}`}>
            {body}
          </button>
        </div>
      ) : g.kind === "loop" ? (
        <div className="loop-head">
          <button className="gn-main nodrag" onClick={() => onSelect(g)} aria-label={`Task ${g.label} (DO_WHILE) ${statusText(g)}`}>
            {body}
          </button>
          {g.iterations ? (
            <div className="iter nodrag" role="group" aria-label={`Iterations of ${g.label}`}>
              <button aria-label="Previous iteration" disabled={(g.iteration ?? 1) <= 1} onClick={() => onIter(g.id, (g.iteration ?? 1) - 1)}>‹</button>
              <span aria-live="polite">iteration {g.iteration} / {g.iterations}</span>
              <button aria-label="Next iteration" disabled={(g.iteration ?? 1) >= g.iterations} onClick={() => onIter(g.id, (g.iteration ?? 1) + 1)}>›</button>
            </div>
          ) : null}
        </div>
      ) : clickable ? (
        <button
          className="gn-main nodrag"
          onClick={() => onSelect(g)}
          aria-label={g.kind === "group" ? `Group of ${g.label}: ${g.type}` : `Task ${g.label} (${g.type}) ${statusText(g)}`}
        >
          {body}
        </button>
      ) : (
        <div className="gn-main">{body}</div>
      )}
      {g.kind === "sub" && g.subWorkflowId && (
        <div className="sub-links nodrag">
          {onExpand && (
            <button className="linklike" aria-expanded={!!g.expanded} onClick={() => onExpand(g.id, !g.expanded)}>
              {g.expanded ? "▾ collapse" : "▸ expand here"}
            </button>
          )}
          <Link className="sub-link" to={`/execution/${g.subWorkflowId}`}>open child run →</Link>
        </div>
      )}
    </div>
  );
});

const nodeTypes = { g: FlowNode };
const edgeTypes = { routed: RoutedEdge };

/** Fits small graphs whole; a big one opens at a readable zoom, from its top. */
function InitialView({ width, height, host }: { width: number; height: number; host: React.RefObject<HTMLDivElement | null> }) {
  const rf = useReactFlow();
  // Placed again when the box changes size (a task panel opening beside it, a rotated phone).
  const [box, setBox] = useState({ w: 0, h: 0 });
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const o = new ResizeObserver(() => setBox((b) => (b.w === el.clientWidth && b.h === el.clientHeight ? b : { w: el.clientWidth, h: el.clientHeight })));
    o.observe(el);
    return () => o.disconnect();
  }, [host]);
  useEffect(() => {
    const el = host.current;
    if (!el || !width || !box.w) return;
    const cw = box.w, ch = box.h;
    const fit = Math.min(cw / (width + 40), ch / (height + 40), 1);
    if (fit >= 0.6) {
      rf.setViewport({ x: (cw - width * fit) / 2, y: (ch - height * fit) / 2, zoom: fit });
    } else {
      const zoom = Math.max(Math.min(1, cw / (width + 40), 0.8), 0.3);
      rf.setViewport({ x: Math.max((cw - width * zoom) / 2, 10), y: 16, zoom });
    }
  }, [rf, width, height, host, box]);
  return null;
}

export default function Diagram(props: Parameters<typeof DiagramInner>[0]) {
  return (
    <ReactFlowProvider>
      <DiagramInner {...props} />
    </ReactFlowProvider>
  );
}

function DiagramInner({ graph, selected, onSelect, onIter, onExpand, label }: {
  graph: Graph;
  selected?: string;
  onSelect: (n: GNode) => void;
  onIter: (loopId: string, iter: number) => void;
  /** Draws a SUB_WORKFLOW's child run inside it, or stops. */
  onExpand?: (subId: string, open: boolean) => void;
  label: string;
}) {
  const theme = useResolvedTheme();
  const [laid, setLaid] = useState<Laid>();
  const pos = laid?.pos;
  const shapeKey = useMemo(
    () => graph.nodes.map((n) => `${n.id}:${n.parent ?? ""}`).join("|") + "#" + graph.edges.map((e) => `${e.source}>${e.target}`).join("|"),
    [graph],
  );
  useEffect(() => {
    let live = true;
    layout(graph).then((l) => live && setLaid(l));
    return () => {
      live = false;
    };
    // Layout again only when the shape changes, not on every status refresh.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shapeKey]);

  const nodes: Node<NodeData>[] = useMemo(() => {
    if (!pos) return [];
    const ordered = parentsFirst(graph.nodes);
    return ordered.map((g) => {
      const p = pos.get(g.id) ?? { x: 0, y: 0, w: 200, h: 50 };
      return {
        id: g.id,
        type: "g",
        position: { x: p.x, y: p.y },
        parentId: g.parent,
        extent: g.parent ? ("parent" as const) : undefined,
        style: { width: p.w, height: p.h },
        draggable: false,
        selectable: false,
        focusable: false,
        zIndex: g.kind === "loop" || g.expanded ? 0 : 1,
        data: { g, selected: selected === g.id, onSelect, onIter, onExpand },
      };
    });
  }, [graph, pos, selected, onSelect, onIter, onExpand]);

  const host = useRef<HTMLDivElement>(null);
  const extent = useMemo(() => extentOf(graph.nodes, pos), [pos, graph]);

  const edges: Edge[] = useMemo(
    () =>
      graph.edges.map((e) => {
        const route = laid?.routes.get(e.id);
        return {
          id: e.id,
          source: e.source,
          target: e.target,
          type: "routed",
          label: e.label,
          data: { points: route?.points, labelAt: route?.label },
          className: e.taken ? "taken" : e.skipped ? "skipped" : "",
          markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16 },
          zIndex: 2,
          selectable: false,
          focusable: false,
        };
      }),
    [graph, laid],
  );

  return (
    <div className="diagram" role="figure" aria-label={label} aria-busy={!pos} ref={host} data-ready={pos ? "true" : "false"}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        colorMode={theme}
        minZoom={0.1}
        nodesConnectable={false}
        nodesDraggable={false}
        elementsSelectable={false}
        proOptions={{ hideAttribution: true }}
        key={pos ? "laid" : "wait"}
      >
        {pos && <InitialView width={extent.w} height={extent.h} host={host} />}
        <Background gap={20} size={1} />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
