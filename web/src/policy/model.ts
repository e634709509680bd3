// SPDX-License-Identifier: Apache-2.0
//
// The editor's model of a policy (docs/policy-language.md). Types are referred to by a uid, so
// that renaming a type renames it in every label and conflict set; a label's reference to a type
// the policy does not declare (from loaded XML) stays a reference to an undeclared type, which
// the compiler then reports at that line. The model is immutable: edits return a new one.

export type Uid = number;

export interface TypeDecl {
  uid: Uid;
  name: string;
  declared: boolean;
}

export interface ConflictSet {
  uid: Uid;
  name: string;
  types: Uid[];
}

export interface VmLabel {
  uid: Uid;
  name: string;
  /** `<Name from="...">`: the label of the policy being replaced that this one renames. */
  from: string;
  /** The name the label had when loaded ("" for a new label): a rename fills in `from`. */
  original: string;
  ste: Uid[];
  chwall: Uid[];
}

export interface ResourceLabel {
  uid: Uid;
  name: string;
  from: string;
  original: string;
  ste: Uid[];
}

export interface Header {
  name: string;
  url: string;
  reference: string;
  date: string;
  namespaceUrl: string;
  version: string;
  fromName: string;
  fromVersion: string;
}

export interface Policy {
  header: Header;
  ste: TypeDecl[];
  chwall: TypeDecl[];
  conflictSets: ConflictSet[];
  /** The bootstrap VM label, by uid (0: none chosen). */
  bootstrap: Uid;
  vmLabels: VmLabel[];
  resLabels: ResourceLabel[];
}

let nextUid = 1;
export const newUid = (): Uid => nextUid++;

export function typeName(types: TypeDecl[], uid: Uid): string {
  return types.find((t) => t.uid === uid)?.name ?? "";
}

/** Returns "1.1" for "1.0", "2.10" for "2.9"; a version that is not major.minor gets ".1". */
export function nextVersion(version: string): string {
  const m = /^(\d+)\.(\d+)$/.exec(version.trim());
  if (!m) return `${version.trim() || "1"}.1`;
  return `${m[1]}.${Number(m[2]) + 1}`;
}

/** Compares two major.minor versions (non-numeric parts count as 0). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map((x) => Number(x) || 0);
  const pb = b.split(".").map((x) => Number(x) || 0);
  return (pa[0] ?? 0) - (pb[0] ?? 0) || (pa[1] ?? 0) - (pb[1] ?? 0);
}

/** A small starting policy, for a host still under the built-in DEFAULT policy. */
export function emptyPolicy(): Policy {
  const mgmt = { uid: newUid(), name: "SystemManagement", declared: true };
  const cwMgmt = { uid: newUid(), name: "SystemManagement", declared: true };
  const label: VmLabel = {
    uid: newUid(),
    name: "SystemManagement",
    from: "",
    original: "",
    ste: [mgmt.uid],
    chwall: [cwMgmt.uid],
  };
  return {
    header: {
      name: "my.policy",
      url: "",
      reference: "",
      date: "",
      namespaceUrl: "",
      version: "1.0",
      fromName: "",
      fromVersion: "",
    },
    ste: [mgmt],
    chwall: [cwMgmt],
    conflictSets: [],
    bootstrap: label.uid,
    vmLabels: [label],
    resLabels: [],
  };
}
