// SPDX-License-Identifier: Apache-2.0
//
// Writes the editor's model as policy XML, one element per line, and remembers which editor
// field each line came from, so that the compiler's `editor.xml:LINE: ...` message can be shown
// at that field. Field ids: header.name, ste.<uid>, cs.<uid>.name, vm.<uid>.ste.<type uid>, ...

import { type Policy, type TypeDecl, typeName, type Uid } from "./model";

export interface Serialized {
  xml: string;
  /** fields[i] is the field id of line i + 1. */
  fields: string[];
}

const NS = "http://www.ibm.com";

export function escapeXml(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

class Writer {
  readonly lines: string[] = [];
  readonly fields: string[] = [];
  line(depth: number, text: string, field: string): void {
    this.lines.push("  ".repeat(depth) + text);
    this.fields.push(field);
  }
  leaf(depth: number, tag: string, value: string, field: string): void {
    this.line(depth, `<${tag}>${escapeXml(value)}</${tag}>`, field);
  }
}

function typeList(
  w: Writer,
  depth: number,
  tag: string,
  types: TypeDecl[],
  uids: Uid[],
  field: (uid: Uid) => string,
  listField: string,
): void {
  w.line(depth, `<${tag}>`, listField);
  for (const uid of uids) {
    const t = types.find((x) => x.uid === uid);
    if (t) w.leaf(depth + 1, "Type", t.name, field(uid));
  }
  w.line(depth, `</${tag}>`, listField);
}

function header(w: Writer, p: Policy): void {
  const h = p.header;
  w.line(1, "<PolicyHeader>", "header.name");
  w.leaf(2, "PolicyName", h.name, "header.name");
  if (h.url) w.leaf(2, "PolicyUrl", h.url, "header.name");
  if (h.reference) w.leaf(2, "Reference", h.reference, "header.name");
  if (h.date) w.leaf(2, "Date", h.date, "header.date");
  if (h.namespaceUrl) w.leaf(2, "NameSpaceUrl", h.namespaceUrl, "header.name");
  w.leaf(2, "Version", h.version, "header.version");
  if (h.fromName || h.fromVersion) {
    w.line(2, "<FromPolicy>", "header.fromName");
    w.leaf(3, "PolicyName", h.fromName, "header.fromName");
    w.leaf(3, "Version", h.fromVersion, "header.fromVersion");
    w.line(2, "</FromPolicy>", "header.fromName");
  }
  w.line(1, "</PolicyHeader>", "header.name");
}

function components(w: Writer, p: Policy): void {
  const ste = p.ste.filter((t) => t.declared);
  if (ste.length) {
    w.line(1, "<SimpleTypeEnforcement>", "ste.new");
    const uids = ste.map((t) => t.uid);
    typeList(w, 2, "SimpleTypeEnforcementTypes", p.ste, uids, (u) => `ste.${u}`, "ste.new");
    w.line(1, "</SimpleTypeEnforcement>", "ste.new");
  }
  const chwall = p.chwall.filter((t) => t.declared);
  if (!chwall.length && !p.conflictSets.length) return;
  w.line(1, "<ChineseWall>", "chwall.new");
  const uids = chwall.map((t) => t.uid);
  typeList(w, 2, "ChineseWallTypes", p.chwall, uids, (u) => `chwall.${u}`, "chwall.new");
  if (p.conflictSets.length) {
    w.line(2, "<ConflictSets>", "cs.new");
    for (const cs of p.conflictSets) {
      const f = `cs.${cs.uid}`;
      w.line(3, `<Conflict name="${escapeXml(cs.name)}">`, `${f}.name`);
      for (const uid of cs.types) w.leaf(4, "Type", typeName(p.chwall, uid), `${f}.type.${uid}`);
      w.line(3, "</Conflict>", `${f}.name`);
    }
    w.line(2, "</ConflictSets>", "cs.new");
  }
  w.line(1, "</ChineseWall>", "chwall.new");
}

function nameLine(w: Writer, depth: number, name: string, from: string, field: string): void {
  const attr = from ? ` from="${escapeXml(from)}"` : "";
  w.line(depth, `<Name${attr}>${escapeXml(name)}</Name>`, field);
}

function labels(w: Writer, p: Policy): void {
  w.line(1, "<SecurityLabelTemplate>", "vm.new");
  const boot = p.vmLabels.find((l) => l.uid === p.bootstrap)?.name ?? "";
  w.line(2, `<SubjectLabels bootstrap="${escapeXml(boot)}">`, "bootstrap");
  for (const l of p.vmLabels) {
    const f = `vm.${l.uid}`;
    w.line(3, "<VirtualMachineLabel>", `${f}.name`);
    nameLine(w, 4, l.name, l.from, `${f}.name`);
    if (l.ste.length)
      typeList(w, 4, "SimpleTypeEnforcementTypes", p.ste, l.ste, (u) => `${f}.ste.${u}`, `${f}.name`);
    if (l.chwall.length)
      typeList(w, 4, "ChineseWallTypes", p.chwall, l.chwall, (u) => `${f}.chwall.${u}`, `${f}.name`);
    w.line(3, "</VirtualMachineLabel>", `${f}.name`);
  }
  w.line(2, "</SubjectLabels>", "vm.new");
  if (p.resLabels.length) {
    w.line(2, "<ObjectLabels>", "res.new");
    for (const l of p.resLabels) {
      const f = `res.${l.uid}`;
      w.line(3, "<ResourceLabel>", `${f}.name`);
      nameLine(w, 4, l.name, l.from, `${f}.name`);
      typeList(w, 4, "SimpleTypeEnforcementTypes", p.ste, l.ste, () => `${f}.type`, `${f}.type`);
      w.line(3, "</ResourceLabel>", `${f}.name`);
    }
    w.line(2, "</ObjectLabels>", "res.new");
  }
  w.line(1, "</SecurityLabelTemplate>", "vm.new");
}

/** Writes `p` as XML; every line's field is in the result's `fields`. */
export function serializePolicy(p: Policy): Serialized {
  const w = new Writer();
  w.line(0, '<?xml version="1.0" encoding="UTF-8"?>', "header.name");
  w.line(0, `<SecurityPolicyDefinition xmlns="${NS}">`, "header.name");
  header(w, p);
  components(w, p);
  labels(w, p);
  w.line(0, "</SecurityPolicyDefinition>", "header.name");
  return { xml: w.lines.join("\n") + "\n", fields: w.fields };
}

/** The field of the compiler message's line (`<source>:<line>: ...`), if `message` has one. */
export function fieldOfMessage(
  s: Serialized,
  message: string,
  source: string,
): { field: string; line: number } | null {
  const esc = source.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const m = new RegExp(`${esc}:(\\d+):`).exec(message);
  if (!m) return null;
  const line = Number(m[1]);
  const field = s.fields[line - 1];
  return field ? { field, line } : null;
}
