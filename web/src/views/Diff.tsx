// SPDX-License-Identifier: Apache-2.0
//
// What an update changes (policy.diff): renames, labels added or removed, sharing gained or
// lost, conflicts added or dropped, resources whose labels become invalid, and the violations
// the update transaction would report against the running host (a dry-run).

import { useEffect, useState } from "preact/hooks";
import { errorText, get, post } from "../api";
import type { Conflict, Diff, PolicyGet, Sharing, VersionEntry, VersionGet } from "../types";
import { ErrorLine, VersionOptions } from "../ui";
import { versionPath } from "./editor/Editor";

async function xmlOf(choice: string, editorXml: () => string | null): Promise<{ xml: string; source: string }> {
  if (choice === "editor") return { xml: editorXml() ?? "", source: "editor.xml" };
  let [name, version] = choice === "active" ? ["", ""] : (JSON.parse(choice) as [string, string]);
  if (choice === "active") ({ name, version } = await get<PolicyGet>("/api/v1/policy"));
  const v = await get<VersionGet>(versionPath(name, version));
  return { xml: v.xml, source: `${name}-${version}.xml` };
}

function Picker(props: {
  id: string;
  label: string;
  value: string;
  set: (v: string) => void;
  versions: VersionEntry[];
  hasEditor: boolean;
}) {
  return (
    <span class="field">
      <label for={props.id}>{props.label}</label>
      <select id={props.id} value={props.value} onChange={(e) => props.set((e.target as HTMLSelectElement).value)}>
        <option value="active">the active policy</option>
        <option value="editor" disabled={!props.hasEditor}>
          the editor's policy
        </option>
        <VersionOptions versions={props.versions} />
      </select>
    </span>
  );
}

const sharingText = (s: Sharing) =>
  `${s.kind === "vm" ? "VM" : "resource"}: ${s.a} ↔ ${s.b} (${s.types.join(", ")})`;
const conflictText = (c: Conflict) =>
  `${c.a} ✕ ${c.b} (${c.sets.map((s) => s.name || "(unnamed)").join(", ")})`;

function Part(props: { id: string; title: string; items: string[] }) {
  return (
    <section class="card diff-part" aria-labelledby={props.id}>
      <h3 id={props.id}>
        {props.title} <span class="count">({props.items.length})</span>
      </h3>
      {props.items.length ? (
        <ul>
          {props.items.map((i) => (
            <li>{i}</li>
          ))}
        </ul>
      ) : (
        <p class="muted">none</p>
      )}
    </section>
  );
}

function DiffResult({ d }: { d: Diff }) {
  const renames = [
    ...d.vm_renames.map((r) => `VM label ${r.from} → ${r.to}`),
    ...d.resource_renames.map((r) => `resource label ${r.from} → ${r.to}`),
  ];
  const added = [
    ...d.vm_labels_added.map((n) => `VM label ${n}`),
    ...d.resource_labels_added.map((n) => `resource label ${n}`),
  ];
  const removed = [
    ...d.vm_labels_removed.map((n) => `VM label ${n}`),
    ...d.resource_labels_removed.map((n) => `resource label ${n}`),
  ];
  const violations = d.dry_run.violations.map(
    (v) => `${v.kind}: ${v.message}${v.domains.length ? ` [domains: ${v.domains.join(" ")}]` : ""}`,
  );
  return (
    <>
      <p>
        From <strong>{d.old.name} {d.old.version}</strong> to <strong>{d.new.name} {d.new.version}</strong>.
        Activating it now would be{" "}
        <strong class={d.dry_run.accepted ? "ok-text" : "error-text"}>
          {d.dry_run.accepted ? "accepted" : "refused"}
        </strong>
        .
      </p>
      <div class="diff-grid">
        <Part id="d-ren" title="Renamed labels" items={renames} />
        <Part id="d-add" title="Labels added" items={added} />
        <Part id="d-rem" title="Labels removed" items={removed} />
        <Part id="d-gain" title="Sharing gained" items={d.sharing_gained.map(sharingText)} />
        <Part id="d-lost" title="Sharing lost" items={d.sharing_lost.map(sharingText)} />
        <Part id="d-cadd" title="New conflicts" items={d.conflicts_added.map(conflictText)} />
        <Part id="d-cdrop" title="Dropped conflicts" items={d.conflicts_dropped.map(conflictText)} />
        <Part
          id="d-inv"
          title="Resources whose label becomes invalid"
          items={d.invalidated_resources.map((r) => `${r.resource} (${r.label})`)}
        />
        <Part id="d-dry" title="Violations against the running host (dry-run)" items={violations} />
      </div>
    </>
  );
}

export function DiffView(props: { epoch: number; editorXml: () => string | null }) {
  const [versions, setVersions] = useState<VersionEntry[]>([]);
  const hasEditor = !!props.editorXml();
  const [oldChoice, setOld] = useState("active");
  const [newChoice, setNew] = useState(hasEditor ? "editor" : "active");
  const [diff, setDiff] = useState<Diff | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    get<{ versions: VersionEntry[] }>("/api/v1/policy/versions")
      .then((r) => setVersions(r.versions))
      .catch((e) => setError(errorText(e)));
  }, [props.epoch]);
  const compare = async (e: Event) => {
    e.preventDefault();
    setError("");
    try {
      const n = await xmlOf(newChoice, props.editorXml);
      const body: Record<string, string> = { new_xml: n.xml, new_source: n.source };
      if (oldChoice !== "active") {
        const o = await xmlOf(oldChoice, props.editorXml);
        body.old_xml = o.xml;
        body.old_source = o.source;
      }
      setDiff(await post<Diff>("/api/v1/policy/diff", body));
    } catch (err) {
      setDiff(null);
      setError(errorText(err));
    }
  };
  return (
    <>
      <form class="toolbar" onSubmit={compare} aria-label="Versions to compare">
        <Picker id="diff-old" label="Old" value={oldChoice} set={setOld} versions={versions} hasEditor={hasEditor} />
        <Picker id="diff-new" label="New" value={newChoice} set={setNew} versions={versions} hasEditor={hasEditor} />
        <button type="submit" class="primary">
          Compare
        </button>
      </form>
      <ErrorLine error={error} />
      {diff && <DiffResult d={diff} />}
    </>
  );
}
