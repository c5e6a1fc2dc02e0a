import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { useResolvedTheme } from "./theme";

/** One line of a chart. */
export interface Series {
  label: string;
  /** A CSS variable or colour for the line. */
  color: string;
  values: (number | null)[];
}

/** Reads a CSS custom property (`--name`) of the document, or returns the colour given. */
function resolveColor(c: string): string {
  if (!c.startsWith("--")) return c;
  return getComputedStyle(document.documentElement).getPropertyValue(c).trim() || "#888";
}

/**
 * A time-series line chart (uPlot): `times` in epoch ms, one line per series, sized to its
 * container's width and redrawn on theme changes.
 */
export function Chart({ title, times, series, unit, window, height = 200 }: {
  title: string;
  times: number[];
  series: Series[];
  /** Shown after values on the axis and in the legend. */
  unit?: string;
  /** The time span shown (epoch ms), whatever part of it has samples. */
  window: [number, number];
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const span = useRef(window);
  span.current = window;
  const theme = useResolvedTheme();
  const shape = series.map((s) => s.label).join("\u0000");

  // Built again when the lines or the theme change; data updates go through setData.
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const fg = resolveColor("--muted");
    const grid = resolveColor("--border");
    const fmt = (v: number | null) => (v == null ? "–" : `${Math.round(v * 100) / 100}${unit ? " " + unit : ""}`);
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      scales: { x: { time: true, range: () => [span.current[0] / 1000, span.current[1] / 1000] }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [
        { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
        {
          stroke: fg,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid },
          // Wide enough for the longest label.
          size: (_u: uPlot, values: string[]) => 16 + 7 * Math.max(3, ...(values ?? []).map((v) => v.length)),
          values: (_u, vals) => vals.map((v) => (unit ? `${v} ${unit}` : String(v))),
        },
      ],
      series: [
        { label: "time", value: (_u, v) => (v == null ? "–" : new Date(v * 1000).toLocaleTimeString()) },
        ...series.map((s) => ({
          label: s.label,
          stroke: resolveColor(s.color),
          width: 2,
          // Points while samples are few (a single one draws no line).
          points: { show: (u: uPlot) => u.data[0].length < 40, size: 5 },
          spanGaps: false,
          value: (_u: uPlot, v: number | null) => fmt(v),
        })),
      ],
      legend: { live: true },
    };
    const u = new uPlot(opts, [times.map((t) => t / 1000), ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape, theme, height, unit]);

  useEffect(() => {
    plot.current?.setData([times.map((t) => t / 1000), ...series.map((s) => s.values)] as uPlot.AlignedData);
  }, [times, series]);

  return (
    <figure className="chart" aria-label={title}>
      <figcaption>{title}</figcaption>
      <div ref={box} className="chart-box" role="img" aria-label={`${title}: ${series.map((s) => s.label).join(", ")}`} />
    </figure>
  );
}
