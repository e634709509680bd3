// SPDX-License-Identifier: Apache-2.0
//
// Small shared pieces of the views: refusal messages as lists, type chips, colours per type.

/** Splits "policy update refused: N violations:\n  - a\n  - b" into its head and the items. */
export function splitViolations(message: string): { head: string; items: string[] } {
  const lines = message.split("\n");
  const items = lines.filter((l) => /^\s*- /.test(l)).map((l) => l.replace(/^\s*- /, ""));
  const head = lines.filter((l) => !/^\s*- /.test(l)).join(" ").trim();
  return { head, items };
}

export function Violations(props: { items: string[] }) {
  return (
    <ul class="violations" aria-label="Violations">
      {props.items.map((v) => (
        <li>{v}</li>
      ))}
    </ul>
  );
}

/** A light background for type `i` of `n`, dark text stays readable on it. */
export function typeColour(i: number, n: number): string {
  const hue = Math.round((i * 360) / Math.max(n, 1) + 200) % 360;
  return `hsl(${hue} 70% 84%)`;
}

export function TypeChips(props: { types: string[]; all: string[] }) {
  if (props.types.length === 0) return <span class="muted">none</span>;
  return (
    <span class="chips">
      {props.types.map((t) => (
        <span class="chip" style={{ background: typeColour(props.all.indexOf(t), props.all.length) }}>
          {t}
        </span>
      ))}
    </span>
  );
}

/** "ACM:shype.demo:Bank" → "Bank"; anything else unchanged. */
export function labelName(label: string): string {
  const parts = label.split(":");
  return parts.length >= 3 ? parts.slice(2).join(":") : label;
}

export function RefreshBar(props: { onRefresh: () => void; error: string }) {
  return (
    <>
      <div class="toolbar">
        <button type="button" onClick={props.onRefresh}>
          Refresh
        </button>
      </div>
      <ErrorLine error={props.error} />
    </>
  );
}

export function ErrorLine(props: { error: string }) {
  return props.error ? (
    <p class="status error" role="alert">
      {props.error}
    </p>
  ) : null;
}

/** A table's head row of column headers. */
export function HeadRow(props: { cols: string[] }) {
  return (
    <thead>
      <tr>
        {props.cols.map((c) => (
          <th scope="col">{c}</th>
        ))}
      </tr>
    </thead>
  );
}

/** An <option> per stored policy version, its value [name, version] as JSON. */
export function VersionOptions(props: { versions: { name: string; version: string; active: boolean }[] }) {
  return (
    <>
      {props.versions.map((v) => (
        <option value={JSON.stringify([v.name, v.version])}>
          {v.name} {v.version}
          {v.active ? " (active)" : ""}
        </option>
      ))}
    </>
  );
}
