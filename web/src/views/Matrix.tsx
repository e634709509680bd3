// SPDX-License-Identifier: Apache-2.0
//
// The share matrix: which VM labels may share with which (labels × labels) and which labels may
// use which resource labels (labels × resource labels), each cell the common STE types.

import { AnalysisView } from "../analysis";
import type { Analysis, Matrix } from "../types";
import { TypeChips } from "../ui";

function MatrixTable(props: { id: string; caption: string; m: Matrix; all: string[] }) {
  const { m } = props;
  return (
    <div class="scroll" role="region" aria-labelledby={`${props.id}-caption`} tabIndex={0}>
      <table class="matrix" id={props.id}>
        <caption id={`${props.id}-caption`}>{props.caption}</caption>
        <thead>
          <tr>
            <td />
            {m.cols.map((c) => (
              <th scope="col">{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {m.rows.map((r, i) => (
            <tr>
              <th scope="row">{r}</th>
              {m.cols.map((c, j) => {
                const types = m.types[i]?.[j] ?? [];
                return (
                  <td
                    class={types.length ? "share" : "none"}
                    data-row={r}
                    data-col={c}
                    title={types.length ? `${r} and ${c} share ${types.join(", ")}` : `${r} and ${c} share nothing`}
                  >
                    {types.length ? <TypeChips types={types} all={props.all} /> : <span aria-label="nothing">·</span>}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Facts({ a }: { a: Analysis }) {
  const list = (xs: string[]) => (xs.length ? xs.join(", ") : "none");
  return (
    <dl class="facts">
      <dt>Labels that share with nothing</dt>
      <dd>{list(a.reach_nothing)}</dd>
      <dt>Labels that share with everything</dt>
      <dd>{list(a.reach_everything)}</dd>
      <dt>Unused STE types</dt>
      <dd>{list(a.unused_ste_types)}</dd>
      <dt>Unused Chinese Wall types</dt>
      <dd>{list(a.unused_chwall_types)}</dd>
      {a.running && (
        <>
          <dt>Running domains that could share now</dt>
          <dd>
            {a.running.sharing.length
              ? a.running.sharing.map((s) => `${s.a} ↔ ${s.b} (${s.types.join(", ")})`).join("; ")
              : "none"}
          </dd>
        </>
      )}
    </dl>
  );
}

export function MatrixView(props: { epoch: number; editorXml: () => string | null }) {
  return (
    <AnalysisView id="matrix-source" epoch={props.epoch} editorXml={props.editorXml}>
      {(a) => (
        <>
          <p>
            Policy <strong>{a.policy.name}</strong> version {a.policy.version}. A cell lists the STE
            types two labels have in common: they may share (memory, network, disks) only if it is
            not empty.
          </p>
          <MatrixTable id="vm-matrix" caption="VM labels × VM labels" m={a.vm_matrix} all={a.ste_types} />
          <MatrixTable
            id="resource-matrix"
            caption="VM labels × resource labels"
            m={a.resource_matrix}
            all={a.ste_types}
          />
          <Facts a={a} />
        </>
      )}
    </AnalysisView>
  );
}
