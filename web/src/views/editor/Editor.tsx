// SPDX-License-Identifier: Apache-2.0
//
// The policy editor: loads the active policy (or a saved version) into the model, and from the
// model's XML validates (policy.analyze), saves a new version (policy.save), downloads and
// activates (policy.set). A compiler error is shown at its field; a refused activation lists
// every violation.

import { useEffect, useMemo, useState } from "preact/hooks";
import { ApiError, errorText, get, post, put } from "../../api";
import { asNextVersion } from "../../policy/edit";
import { compareVersions, emptyPolicy, nextVersion, type Policy } from "../../policy/model";
import { parsePolicy } from "../../policy/parse";
import { serializePolicy, type Serialized } from "../../policy/serialize";
import type { Analysis, PolicyGet, VersionEntry, VersionGet } from "../../types";
import { VersionOptions, Violations, splitViolations } from "../../ui";
import { ErrorContext, type FieldError } from "./fields";
import { Sections } from "./Sections";
import { targetField } from "./target";
import { XmlPreview } from "./XmlPreview";

export const SOURCE = "editor.xml";

export interface EditorState {
  policy: Policy | null;
  loaded: string;
  savedXml: string;
}

interface Status {
  kind: "ok" | "error" | "busy";
  text: string;
  violations?: string[];
}

export const versionPath = (name: string, version: string) =>
  `/api/v1/policy/versions/${encodeURIComponent(name)}/${encodeURIComponent(version)}`;

async function loadActive(): Promise<{ policy: Policy; loaded: string }> {
  const active = await get<PolicyGet>("/api/v1/policy");
  if (active.name === "DEFAULT" || !active.name) {
    return { policy: emptyPolicy(), loaded: "a new policy (the host runs DEFAULT)" };
  }
  const v = await get<VersionGet>(versionPath(active.name, active.version));
  return {
    policy: asNextVersion(parsePolicy(v.xml), active),
    loaded: `active ${active.name} ${active.version}`,
  };
}

async function loadVersion(name: string, version: string) {
  const [active, v] = await Promise.all([
    get<PolicyGet>("/api/v1/policy"),
    get<VersionGet>(versionPath(name, version)),
  ]);
  const p = parsePolicy(v.xml);
  const candidate =
    compareVersions(p.header.version, active.version) > 0 &&
    p.header.fromName === active.name &&
    p.header.fromVersion === active.version;
  return { policy: candidate ? p : asNextVersion(p, active), loaded: `saved ${name} ${version}` };
}

export function Editor(props: {
  state: EditorState;
  setState: (f: (s: EditorState) => EditorState) => void;
  onPolicyChanged: () => void;
}) {
  const { state, setState } = props;
  const [versions, setVersions] = useState<VersionEntry[]>([]);
  const [status, setStatus] = useState<Status | null>(null);
  const [fieldError, setFieldError] = useState<FieldError | null>(null);
  const [errorLine, setErrorLine] = useState(0);
  const serialized: Serialized | null = useMemo(
    () => (state.policy ? serializePolicy(state.policy) : null),
    [state.policy],
  );

  const refreshVersions = () =>
    get<{ versions: VersionEntry[] }>("/api/v1/policy/versions")
      .then((r) => setVersions(r.versions))
      .catch(() => setVersions([]));

  const load = async (what: () => Promise<{ policy: Policy; loaded: string }>) => {
    setStatus({ kind: "busy", text: "Loading…" });
    try {
      const r = await what();
      setState(() => ({ policy: r.policy, loaded: r.loaded, savedXml: "" }));
      setFieldError(null);
      setStatus({ kind: "ok", text: `Loaded ${r.loaded}; editing version ${r.policy.header.version}.` });
    } catch (e) {
      setStatus({ kind: "error", text: `Could not load the policy: ${errorText(e)}` });
    }
    refreshVersions();
  };

  useEffect(() => {
    refreshVersions();
    if (!state.policy) load(loadActive);
  }, []);

  const update = (f: (p: Policy) => Policy) =>
    setState((s) => (s.policy ? { ...s, policy: f(s.policy) } : s));

  /** Shows `e`: a compiler message at its field, a refusal's violations as a list. */
  const showError = (what: string, e: unknown) => {
    const message = errorText(e);
    const at = serialized && state.policy ? targetField(state.policy, serialized, message, SOURCE) : null;
    setErrorLine(at?.line ?? 0);
    setFieldError(at ? { field: at.field, message, seq: Date.now() } : null);
    const { head, items } = splitViolations(message);
    const code = e instanceof ApiError ? ` (${e.status} ${e.code})` : "";
    setStatus({ kind: "error", text: `${what} failed${code}: ${head}`, violations: items });
  };

  const run = async (what: string, f: (xml: string) => Promise<string>) => {
    if (!serialized) return;
    setStatus({ kind: "busy", text: `${what}…` });
    try {
      const text = await f(serialized.xml);
      setFieldError(null);
      setErrorLine(0);
      setStatus({ kind: "ok", text });
    } catch (e) {
      showError(what, e);
    }
  };

  const validate = () =>
    run("Validate", async (xml) => {
      const a = await post<Analysis>("/api/v1/policy/analyze", { xml, source: SOURCE });
      return `Valid: ${a.policy.name} ${a.policy.version}, ${a.vm_labels.length} VM labels, ${a.resource_labels.length} resource labels, ${a.conflicts.length} label pairs in conflict.`;
    });

  const save = () =>
    run("Save", async () => {
      let p = state.policy!;
      if (serialized!.xml === state.savedXml) return `Already saved as ${p.header.name} ${p.header.version}.`;
      while (versions.some((v) => v.name === p.header.name && v.version === p.header.version))
        p = { ...p, header: { ...p.header, version: nextVersion(p.header.version) } };
      const xml = serializePolicy(p).xml;
      const r = await post<{ name: string; version: string; hash: string }>("/api/v1/policy/versions", {
        xml,
        source: SOURCE,
      });
      setState((s) => ({ ...s, policy: p, savedXml: xml }));
      refreshVersions();
      props.onPolicyChanged();
      return `Saved as version ${r.version} of ${r.name} (not active).`;
    });

  const activate = () =>
    run("Activate", async (xml) => {
      await put("/api/v1/policy", { xml, source: SOURCE });
      const active = await get<PolicyGet>("/api/v1/policy");
      setState((s) => ({
        ...s,
        policy: s.policy ? asNextVersion(s.policy, active) : s.policy,
        loaded: `active ${active.name} ${active.version}`,
        savedXml: "",
      }));
      refreshVersions();
      props.onPolicyChanged();
      return `Activated ${active.name} ${active.version}; the editor now prepares the next version.`;
    });

  return (
    <ErrorContext.Provider value={fieldError}>
      <div class="toolbar" role="group" aria-label="Policy actions">
        <LoadPicker versions={versions} onActive={() => load(loadActive)} onVersion={(n, v) => load(() => loadVersion(n, v))} />
        <button type="button" onClick={validate} disabled={!serialized}>
          Validate
        </button>
        <button type="button" onClick={save} disabled={!serialized}>
          Save as new version
        </button>
        <DownloadLink xml={serialized?.xml ?? ""} policy={state.policy} />
        <button type="button" class="primary" onClick={activate} disabled={!serialized}>
          Activate
        </button>
      </div>
      <div id="editor-status" class={`status ${status?.kind ?? ""}`} role="status" aria-live="polite">
        {status?.text}
        {status?.violations && status.violations.length > 0 && <Violations items={status.violations} />}
      </div>
      {state.policy && <p class="muted">Editing {state.loaded ? `(from ${state.loaded})` : ""}</p>}
      {state.policy && <Sections policy={state.policy} update={update} />}
      {serialized && <XmlPreview xml={serialized.xml} errorLine={errorLine} />}
    </ErrorContext.Provider>
  );
}

function LoadPicker(props: {
  versions: VersionEntry[];
  onActive: () => void;
  onVersion: (name: string, version: string) => void;
}) {
  const [choice, setChoice] = useState("");
  const submit = (e: Event) => {
    e.preventDefault();
    if (!choice) return props.onActive();
    const [name, version] = JSON.parse(choice) as [string, string];
    props.onVersion(name, version);
  };
  return (
    <form class="load" onSubmit={submit}>
      <label for="load-choice">Load</label>
      <select id="load-choice" value={choice} onChange={(e) => setChoice((e.target as HTMLSelectElement).value)}>
        <option value="">the active policy</option>
        <VersionOptions versions={props.versions} />
      </select>
      <button type="submit">Load</button>
    </form>
  );
}

function DownloadLink(props: { xml: string; policy: Policy | null }) {
  const url = useMemo(
    () => (props.xml ? URL.createObjectURL(new Blob([props.xml], { type: "application/xml" })) : ""),
    [props.xml],
  );
  useEffect(() => () => url && URL.revokeObjectURL(url), [url]);
  const h = props.policy?.header;
  const name = h ? `${h.name}-${h.version}.xml` : "policy.xml";
  return (
    <a class="button" href={url || undefined} download={name} aria-disabled={!url}>
      Download XML
    </a>
  );
}
