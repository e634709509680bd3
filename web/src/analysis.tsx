// SPDX-License-Identifier: Apache-2.0
//
// policy.analyze of the active policy or of the editor's XML, re-asked when the policy changes.

import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { errorText, post } from "./api";
import type { Analysis } from "./types";
import { ErrorLine } from "./ui";

export type Which = "active" | "editor";

export function useAnalysis(which: Which, epoch: number, editorXml: () => string | null) {
  const [analysis, setAnalysis] = useState<Analysis | null>(null);
  const [error, setError] = useState("");
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    const xml = which === "editor" ? editorXml() : null;
    const body = xml ? { xml, source: "editor.xml" } : {};
    post<Analysis>("/api/v1/policy/analyze", body)
      .then((a) => live && (setAnalysis(a), setError("")))
      .catch((e) => live && (setAnalysis(null), setError(errorText(e))));
    return () => {
      live = false;
    };
  }, [which, epoch, tick]);
  return { analysis, error, refresh: () => setTick((t) => t + 1) };
}

export function SourcePicker(props: {
  id: string;
  which: Which;
  setWhich: (w: Which) => void;
  hasEditor: boolean;
  refresh: () => void;
}) {
  return (
    <div class="toolbar" role="group" aria-label="Policy to analyze">
      <label for={props.id}>Policy</label>
      <select
        id={props.id}
        value={props.which}
        onChange={(e) => props.setWhich((e.target as HTMLSelectElement).value as Which)}
      >
        <option value="active">the active policy</option>
        <option value="editor" disabled={!props.hasEditor}>
          the editor's policy (not yet active)
        </option>
      </select>
      <button type="button" onClick={props.refresh}>
        Refresh
      </button>
    </div>
  );
}

/** A view of one analysis: the picker (active or the editor's policy), errors, then `children`. */
export function AnalysisView(props: {
  id: string;
  epoch: number;
  editorXml: () => string | null;
  children: (a: Analysis) => ComponentChildren;
}) {
  const [which, setWhich] = useState<Which>("active");
  const { analysis, error, refresh } = useAnalysis(which, props.epoch, props.editorXml);
  return (
    <>
      <SourcePicker
        id={props.id}
        which={which}
        setWhich={setWhich}
        hasEditor={!!props.editorXml()}
        refresh={refresh}
      />
      <ErrorLine error={error} />
      {analysis && props.children(analysis)}
    </>
  );
}
