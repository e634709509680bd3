// SPDX-License-Identifier: Apache-2.0
//
// The Chinese Wall conflict graph: VM labels as nodes, an edge between two labels that may never
// run on the host at the same time, named by the conflict set(s). The same as a table.

import { AnalysisView } from "../analysis";
import { HeadRow } from "../ui";
import type { Analysis } from "../types";

const W = 640;
const H = 440;

function Graph({ a }: { a: Analysis }) {
  const names = a.vm_labels.map((l) => l.name);
  const r = Math.min(W, H) / 2 - 70;
  const pos = new Map(
    names.map((n, i) => {
      const t = (2 * Math.PI * i) / Math.max(names.length, 1) - Math.PI / 2;
      return [n, { x: W / 2 + r * Math.cos(t), y: H / 2 + r * Math.sin(t) }];
    }),
  );
  const inConflict = new Set(a.conflicts.flatMap((c) => [c.a, c.b]));
  return (
    <svg
      class="graph"
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-labelledby="graph-title graph-desc"
      preserveAspectRatio="xMidYMid meet"
    >
      <title id="graph-title">Chinese Wall conflict graph of {a.policy.name}</title>
      <desc id="graph-desc">
        {a.conflicts.length} pairs of labels in conflict; the table below lists them.
      </desc>
      {a.conflicts.map((c) => {
        const p = pos.get(c.a);
        const q = pos.get(c.b);
        if (!p || !q) return null;
        const label = c.sets.map((s) => s.name || "(unnamed)").join(", ");
        return (
          <g class="edge">
            <line x1={p.x} y1={p.y} x2={q.x} y2={q.y} />
            <text x={(p.x + q.x) / 2} y={(p.y + q.y) / 2 - 6} text-anchor="middle">
              {label}
            </text>
          </g>
        );
      })}
      {names.map((n) => {
        const p = pos.get(n)!;
        return (
          <g class={`node ${inConflict.has(n) ? "conflicting" : ""}`}>
            <circle cx={p.x} cy={p.y} r={34} />
            <text x={p.x} y={p.y + 5} text-anchor="middle">
              {n.length > 12 ? n.slice(0, 11) + "…" : n}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

export function ConflictsView(props: { epoch: number; editorXml: () => string | null }) {
  return (
    <AnalysisView id="graph-source" epoch={props.epoch} editorXml={props.editorXml}>
      {(a) => (
        <>
          <p>
            Two labels joined by a line never run on the host at the same time: each has a type of
            the same conflict set.
          </p>
          <Graph a={a} />
          <div class="scroll">
            <table id="conflict-table">
              <caption>Label pairs that may never run together</caption>
              <HeadRow cols={["Label", "Label", "Conflict set (types)"]} />
              <tbody>
                {a.conflicts.length === 0 && (
                  <tr>
                    <td colSpan={3}>No conflicts.</td>
                  </tr>
                )}
                {a.conflicts.map((c) => (
                  <tr>
                    <td>{c.a}</td>
                    <td>{c.b}</td>
                    <td>{c.sets.map((s) => `${s.name || "(unnamed)"} (${s.types.join(" / ")})`).join("; ")}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <h3>Conflict sets</h3>
          <ul>
            {a.conflict_sets.map((s) => (
              <li>
                <strong>{s.name || "(unnamed)"}</strong>: {s.types.join(", ")}
              </li>
            ))}
          </ul>
        </>
      )}
    </AnalysisView>
  );
}
