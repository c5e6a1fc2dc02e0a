// The designer's canvas: the definition drawn like the diagram of the definitions page, with a
// slot (+) on every edge and in every empty case, branch and loop. A task type dragged from the
// palette onto a slot is added there, a task dragged onto a slot moves there, a slot clicked
// (or reached with Tab and Enter) offers the task types in a menu.
import { memo, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { createPortal } from "react-dom";
import {
  ReactFlow, Background, Controls, Handle, Position, MarkerType, useReactFlow, ReactFlowProvider,
  type Node, type Edge, type NodeProps,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { layout, RoutedEdge, parentsFirst, extentOf, type Laid } from "../graph/Diagram";
import { useResolvedTheme } from "../components/theme";
import { TASK_TYPES, type DGraph, type DNode, type Path, type Point } from "./model";
import { DRAG_TYPE, dragging, endDrag, startTaskDrag } from "./drag";

const SIZES: Record<string, [number, number]> = { slot: [26, 26] };

export interface CanvasActions {
  onSelect: (n: DNode | undefined) => void;
  onAdd: (at: Point, type: string) => void;
  onMove: (from: Path, at: Point) => void;
}

interface NodeData extends Record<string, unknown> {
  g: DNode;
  selected: boolean;
  problems: string[];
  actions: CanvasActions;
  menu: string | undefined;
  setMenu: (id: string | undefined) => void;
  /** The task being moved by the keyboard (or touch): slots take it instead of opening a menu. */
  moving?: Path;
}

const isInside = (slot: Point, path: Path) => path.length <= slot.list.length && path.every((x, i) => slot.list[i] === x);

/** The task types offered at a slot: a menu over the page (not scaled with the canvas). */
function SlotMenu({ at, anchor, onPick, onClose, label }: { at: Point; anchor: HTMLElement | null; onPick: (type: string) => void; onClose: () => void; label: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const r = anchor?.getBoundingClientRect();
  useEffect(() => {
    const t = requestAnimationFrame(() => ref.current?.querySelector("button")?.focus());
    const away = (e: MouseEvent) => {
      if (!ref.current?.contains(e.target as HTMLElement) && e.target !== anchor) onClose();
    };
    document.addEventListener("mousedown", away);
    return () => {
      cancelAnimationFrame(t);
      document.removeEventListener("mousedown", away);
    };
  }, [anchor, onClose]);
  const top = r ? Math.min(r.bottom + 4, window.innerHeight - 310) : 80;
  const left = r ? Math.max(4, Math.min(r.left + r.width / 2 - 110, window.innerWidth - 224)) : 4;
  return createPortal(
    <div className="slot-menu" role="menu" aria-label={label} ref={ref} style={{ top: Math.max(4, top), left }}
      onKeyDown={(e) => {
        if (e.key === "Escape" || e.key === "Tab") {
          e.preventDefault();
          onClose();
          anchor?.focus();
        }
        if (e.key === "ArrowDown" || e.key === "ArrowUp") {
          e.preventDefault();
          const items = [...(ref.current?.querySelectorAll("button") ?? [])];
          const i = items.indexOf(document.activeElement as HTMLButtonElement);
          items[(i + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length]?.focus();
        }
      }}>
      {TASK_TYPES.map((t) => (
        <button key={t.type} role="menuitem" onClick={() => onPick(t.type)} data-at={at.list.join("/")}>
          {t.label} <span className="muted">{t.type}</span>
        </button>
      ))}
    </div>,
    document.body,
  );
}

const DesignNode = memo(function DesignNode({ data }: NodeProps<Node<NodeData>>) {
  const { g, selected, problems, actions, menu, setMenu, moving } = data;
  const [over, setOver] = useState(false);
  const btn = useRef<HTMLButtonElement>(null);
  const closeMenu = useCallback(() => setMenu(undefined), [setMenu]);
  const handles = (
    <>
      {g.kind !== "start" && <Handle type="target" position={Position.Top} isConnectable={false} />}
      {g.kind !== "end" && <Handle type="source" position={Position.Bottom} isConnectable={false} />}
    </>
  );
  if (g.kind === "slot") {
    const at = g.point!;
    const where = g.label || `${at.list.join(".")} at ${at.index}`;
    const target = moving && !isInside(at, moving);
    const accept = (e: React.DragEvent) => {
      const ok = dragging.type || (dragging.path && !isInside(at, dragging.path));
      if (ok) {
        e.preventDefault();
        e.dataTransfer.dropEffect = dragging.type ? "copy" : "move";
        setOver(true);
      }
    };
    return (
      <div className={`slot ${over ? "over" : ""} ${g.newBranch ? "new-branch" : ""}`} data-slot={g.id}
        onDragOver={accept} onDragEnter={accept} onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          const type = e.dataTransfer.getData(DRAG_TYPE) || dragging.type;
          const path = dragging.path;
          endDrag();
          if (type) actions.onAdd(at, type);
          else if (path) actions.onMove(path, at);
        }}>
        {handles}
        {moving
          ? <button className={`slot-btn nodrag nopan ${target ? "target" : ""}`} disabled={!target} ref={btn}
              aria-label={`Move here: ${where}`} onClick={() => actions.onMove(moving, at)}>↓</button>
          : <button className="slot-btn nodrag nopan" aria-label={`Add a task: ${where}`} aria-haspopup="menu" aria-expanded={menu === g.id} ref={btn}
              onClick={() => setMenu(menu === g.id ? undefined : g.id)}>+</button>}
        {menu === g.id && <SlotMenu at={at} anchor={btn.current} label={`Task types for ${where}`} onClose={closeMenu} onPick={(t) => { setMenu(undefined); actions.onAdd(at, t); }} />}
      </div>
    );
  }
  if (g.kind === "merge") return <div className="gnode merge no-status">{handles}</div>;
  if (g.kind === "start" || g.kind === "end") return <div className="gnode pill no-status" data-node={g.id}>{handles}{g.label}</div>;
  const err = problems.length > 0;
  return (
    <div className={`gnode k-${g.kind} ${g.expanded ? "expanded-sub" : ""} no-status ${selected ? "sel" : ""} ${err ? "in-error" : ""}`} data-node={g.label}
      data-error={err ? "true" : undefined}
      draggable
      onDragStart={(e) => {
        startTaskDrag(e, g.path!, g.label);
        e.stopPropagation();
      }}
      onDragEnd={endDrag}
      title={err ? problems.join("\n") : undefined}>
      {handles}
      <button className="gn-main nodrag nopan" onClick={() => actions.onSelect(g)} aria-pressed={selected}
        aria-label={`Task ${g.label} (${g.type})${err ? ", has problems" : ""}`}>
        <span className="gn-title">{g.label}</span>
        <span className="gn-type">{g.type}{g.kind === "task" && g.detail && g.detail !== "SIMPLE" ? ` · ${g.detail}` : ""}</span>
        {err && <span className="gn-status gn-problem">⚠ {problems[0]}</span>}
      </button>
    </div>
  );
});

const nodeTypes = { d: DesignNode };
const edgeTypes = { routed: RoutedEdge };

/** Keeps the drawing in view: fit when it is small, the top at a readable zoom when large. */
function View({ width, height, startX, host, fitKey }: { width: number; height: number; startX: number; host: React.RefObject<HTMLDivElement | null>; fitKey: string }) {
  const rf = useReactFlow();
  const placed = useRef("");
  // Placed again when the box changes size (the panel below it on a phone, a rotated screen).
  const [box, setBox] = useState("");
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const o = new ResizeObserver(() => setBox(`${el.clientWidth}x${el.clientHeight}`));
    o.observe(el);
    return () => o.disconnect();
  }, [host]);
  useEffect(() => {
    const el = host.current;
    if (!el || !width || !box) return;
    const key = `${fitKey}:${el.clientWidth}x${el.clientHeight}`;
    if (placed.current === key) return;
    placed.current = key;
    const cw = el.clientWidth, ch = el.clientHeight;
    const fit = Math.min(cw / (width + 40), ch / (height + 40), 1);
    const zoom = fit >= 0.7 ? fit : Math.max(Math.min(0.8, cw / (width + 40)), 0.5);
    // Wider than the box: the start of the flow in the middle.
    const x = width * zoom + 20 <= cw ? (cw - width * zoom) / 2 : Math.min(10, cw / 2 - startX * zoom);
    rf.setViewport({ x, y: fit >= 0.7 ? Math.max((ch - height * zoom) / 2, 10) : 10, zoom });
  }, [rf, width, height, startX, host, fitKey, box]);
  return null;
}

export default function Canvas(props: { graph: DGraph; selected?: string; problems: Map<string, string[]>; actions: CanvasActions; moving?: Path }) {
  return (
    <ReactFlowProvider>
      <CanvasInner {...props} />
    </ReactFlowProvider>
  );
}

function CanvasInner({ graph, selected, problems, actions, moving }: { graph: DGraph; selected?: string; problems: Map<string, string[]>; actions: CanvasActions; moving?: Path }) {
  const theme = useResolvedTheme();
  const [laid, setLaid] = useState<{ key: string; l: Laid }>();
  const [menu, setMenu] = useState<string>();
  const shapeKey = useMemo(
    () => graph.nodes.map((n) => `${n.id}:${n.parent ?? ""}`).join("|") + "#" + graph.edges.map((e) => `${e.source}>${e.target}:${e.label ?? ""}`).join("|"),
    [graph],
  );
  useEffect(() => {
    let live = true;
    layout(graph, SIZES).then((l) => live && setLaid({ key: shapeKey, l }));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shapeKey]);
  const ready = laid?.key === shapeKey;
  const pos = laid?.l.pos;
  const nodes: Node<NodeData>[] = useMemo(() => {
    if (!pos) return [];
    const ordered = parentsFirst(graph.nodes);
    return ordered.filter((g) => pos.has(g.id)).map((g) => {
      const p = pos.get(g.id)!;
      return {
        id: g.id,
        type: "d",
        position: { x: p.x, y: p.y },
        parentId: g.parent && pos.has(g.parent) ? g.parent : undefined,
        style: { width: p.w, height: p.h },
        draggable: false,
        selectable: false,
        focusable: false,
        zIndex: g.kind === "loop" || g.expanded ? 0 : menu === g.id ? 10 : 1,
        data: { g, selected: selected === g.id, problems: problems.get(g.id) ?? [], actions, menu, setMenu, moving },
      };
    });
  }, [graph, pos, selected, problems, actions, menu, moving]);
  const edges: Edge[] = useMemo(
    () =>
      graph.edges.filter((e) => laid?.l.routes.has(e.id) || ready).map((e) => {
        const route = ready ? laid?.l.routes.get(e.id) : undefined;
        return {
          id: e.id, source: e.source, target: e.target, type: "routed", label: e.label,
          data: { points: route?.points, labelAt: route?.label },
          markerEnd: { type: MarkerType.ArrowClosed, width: 14, height: 14 },
          zIndex: 2, selectable: false, focusable: false,
        };
      }),
    [graph, laid, ready],
  );
  const host = useRef<HTMLDivElement>(null);
  const extent = useMemo(() => extentOf(graph.nodes, pos), [pos, graph]);
  return (
    <div className="diagram designer-canvas" role="figure" aria-label="Workflow canvas" ref={host} data-ready={ready ? "true" : "false"}
      onKeyDown={(e) => { if (e.key === "Escape") setMenu(undefined); }}>
      <ReactFlow nodes={nodes} edges={edges} nodeTypes={nodeTypes} edgeTypes={edgeTypes} colorMode={theme} minZoom={0.1}
        nodesConnectable={false} nodesDraggable={false} elementsSelectable={false} proOptions={{ hideAttribution: true }}
        onPaneClick={() => { setMenu(undefined); actions.onSelect(undefined); }} deleteKeyCode={null}>
        {pos && <View width={extent.w} height={extent.h} startX={(pos.get("__start")?.x ?? 0) + (pos.get("__start")?.w ?? 0) / 2} host={host} fitKey={graph.nodes.length > 0 ? String(Math.round(extent.w / 200)) : "0"} />}
        <Background gap={20} size={1} />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
