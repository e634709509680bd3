// SPDX-License-Identifier: Apache-2.0
//
// The editor's changes to a policy model, each a pure function returning a new model.

import { compareVersions, nextVersion, newUid, type Policy, type Uid, type VmLabel } from "./model";

export type TypeKind = "ste" | "chwall";

export function addType(p: Policy, kind: TypeKind, name: string): Policy {
  const existing = p[kind].find((t) => t.name === name && !t.declared);
  if (existing) {
    // A type labels used without declaring it: declaring it keeps those uses.
    return { ...p, [kind]: p[kind].map((t) => (t === existing ? { ...t, declared: true } : t)) };
  }
  return { ...p, [kind]: [...p[kind], { uid: newUid(), name, declared: true }] };
}

/** Renames the type everywhere it is used (labels, conflict sets refer to it by uid). */
export function renameType(p: Policy, kind: TypeKind, uid: Uid, name: string): Policy {
  return { ...p, [kind]: p[kind].map((t) => (t.uid === uid ? { ...t, name } : t)) };
}

/** Removes the type from the policy and from every label and conflict set using it. */
export function removeType(p: Policy, kind: TypeKind, uid: Uid): Policy {
  const drop = (uids: Uid[]) => uids.filter((u) => u !== uid);
  return {
    ...p,
    [kind]: p[kind].filter((t) => t.uid !== uid),
    conflictSets:
      kind === "chwall" ? p.conflictSets.map((c) => ({ ...c, types: drop(c.types) })) : p.conflictSets,
    vmLabels: p.vmLabels.map((l) => ({ ...l, [kind]: drop(l[kind]) })),
    resLabels: kind === "ste" ? p.resLabels.map((l) => ({ ...l, ste: drop(l.ste) })) : p.resLabels,
  };
}

const toggle = (uids: Uid[], uid: Uid, on: boolean): Uid[] =>
  on ? (uids.includes(uid) ? uids : [...uids, uid]) : uids.filter((u) => u !== uid);

export function addConflictSet(p: Policy, name: string): Policy {
  return { ...p, conflictSets: [...p.conflictSets, { uid: newUid(), name, types: [] }] };
}

export function updateConflictSet(p: Policy, uid: Uid, name?: string, type?: [Uid, boolean]) {
  return {
    ...p,
    conflictSets: p.conflictSets.map((c) =>
      c.uid !== uid
        ? c
        : { ...c, name: name ?? c.name, types: type ? toggle(c.types, type[0], type[1]) : c.types },
    ),
  };
}

export function removeConflictSet(p: Policy, uid: Uid): Policy {
  return { ...p, conflictSets: p.conflictSets.filter((c) => c.uid !== uid) };
}

/** The `from` a rename implies: the loaded name, unless the user set another one. */
function renamedFrom(l: { from: string; original: string }, name: string): string {
  if (l.from !== "" && l.from !== l.original) return l.from;
  return l.original !== "" && name !== l.original ? l.original : "";
}

export type LabelKind = "vm" | "res";
const listOf = (kind: LabelKind) => (kind === "vm" ? "vmLabels" : "resLabels");

export function addLabel(p: Policy, kind: LabelKind, name: string): Policy {
  const base = { uid: newUid(), name, from: "", original: "", ste: [] as Uid[] };
  if (kind === "res") return { ...p, resLabels: [...p.resLabels, base] };
  const label: VmLabel = { ...base, chwall: [] };
  return { ...p, vmLabels: [...p.vmLabels, label], bootstrap: p.bootstrap || label.uid };
}

export function renameLabel(p: Policy, kind: LabelKind, uid: Uid, name: string): Policy {
  const key = listOf(kind);
  const list = (p[key] as { uid: Uid; from: string; original: string }[]).map((l) =>
    l.uid === uid ? { ...l, name, from: renamedFrom(l, name) } : l,
  );
  return { ...p, [key]: list };
}

export function setLabelFrom(p: Policy, kind: LabelKind, uid: Uid, from: string): Policy {
  const key = listOf(kind);
  const list = (p[key] as { uid: Uid }[]).map((l) => (l.uid === uid ? { ...l, from } : l));
  return { ...p, [key]: list };
}

export function removeLabel(p: Policy, kind: LabelKind, uid: Uid): Policy {
  if (kind === "res") return { ...p, resLabels: p.resLabels.filter((l) => l.uid !== uid) };
  return {
    ...p,
    vmLabels: p.vmLabels.filter((l) => l.uid !== uid),
    bootstrap: p.bootstrap === uid ? 0 : p.bootstrap,
  };
}

export function setVmType(p: Policy, uid: Uid, kind: TypeKind, type: Uid, on: boolean): Policy {
  return {
    ...p,
    vmLabels: p.vmLabels.map((l) => (l.uid === uid ? { ...l, [kind]: toggle(l[kind], type, on) } : l)),
  };
}

export function setResType(p: Policy, uid: Uid, type: Uid | null): Policy {
  return {
    ...p,
    resLabels: p.resLabels.map((l) => (l.uid === uid ? { ...l, ste: type ? [type] : [] } : l)),
  };
}

/**
 * Makes `p` the next version of the active policy: version above both, FromPolicy naming the
 * active one (none under DEFAULT), and the labels' old `from=` (of an earlier update) cleared.
 */
export function asNextVersion(p: Policy, active: { name: string; version: string }): Policy {
  const isDefault = active.name === "DEFAULT" || active.name === "";
  const base =
    !isDefault && active.name === p.header.name && compareVersions(active.version, p.header.version) > 0
      ? active.version
      : p.header.version;
  const fresh = <T extends { name: string }>(l: T) => ({ ...l, from: "", original: l.name });
  return {
    ...p,
    header: {
      ...p.header,
      version: nextVersion(base),
      fromName: isDefault ? "" : active.name,
      fromVersion: isDefault ? "" : active.version,
    },
    vmLabels: p.vmLabels.map(fresh),
    resLabels: p.resLabels.map(fresh),
  };
}

export function setHeader(p: Policy, field: keyof Policy["header"], value: string): Policy {
  return { ...p, header: { ...p.header, [field]: value } };
}
