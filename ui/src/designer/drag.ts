// What is being dragged onto the canvas: a task type from the palette or a task already drawn.
// (A drop target cannot read dataTransfer during dragover, so the drag start notes it here.)
import type { Path } from "./model";

export const DRAG_TYPE = "application/x-baton-task-type";
export const DRAG_PATH = "application/x-baton-task-path";

export const dragging: { path?: Path; type?: string } = {};

export function startPaletteDrag(e: React.DragEvent, type: string) {
  dragging.type = type;
  dragging.path = undefined;
  e.dataTransfer.setData(DRAG_TYPE, type);
  e.dataTransfer.setData("text/plain", type);
  e.dataTransfer.effectAllowed = "copyMove";
}

export function startTaskDrag(e: React.DragEvent, path: Path, label: string) {
  dragging.type = undefined;
  dragging.path = path;
  e.dataTransfer.setData(DRAG_PATH, JSON.stringify(path));
  e.dataTransfer.setData("text/plain", label);
  e.dataTransfer.effectAllowed = "move";
}

export function endDrag() {
  dragging.type = undefined;
  dragging.path = undefined;
}
