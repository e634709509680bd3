// SPDX-License-Identifier: Apache-2.0
//
// The JSON replies the UI reads (docs/api.md; policy.analyze, policy.diff and the version
// operations as the issue 10 contract states them).

export interface PolicyId {
  name: string;
  version: string;
  source?: string;
}

export interface PolicyGet {
  name: string;
  version: string;
  type?: string;
}

export interface VersionEntry {
  name: string;
  version: string;
  hash: string;
  installed_at: number; // Unix seconds
  active: boolean;
}

export interface VersionGet extends VersionEntry {
  xml: string;
}

export interface Matrix {
  rows: string[];
  cols: string[];
  types: string[][][];
}

export interface Conflict {
  a: string;
  b: string;
  sets: { name: string; types: string[] }[];
}

export interface Analysis {
  policy: PolicyId;
  ste_types: string[];
  chwall_types: string[];
  conflict_sets: { name: string; types: string[] }[];
  vm_labels: { name: string; ste_types: string[]; chwall_types: string[] }[];
  resource_labels: { name: string; ste_types: string[] }[];
  vm_matrix: Matrix;
  resource_matrix: Matrix;
  conflicts: Conflict[];
  reach_nothing: string[];
  reach_everything: string[];
  unused_ste_types: string[];
  unused_chwall_types: string[];
  running?: {
    domains: { name: string; id: number; label: string }[];
    sharing: { a: string; b: string; types: string[] }[];
  };
}

export interface Sharing {
  kind: "vm" | "resource";
  a: string;
  b: string;
  types: string[];
}

export interface Diff {
  old: PolicyId;
  new: PolicyId;
  vm_renames: { from: string; to: string }[];
  resource_renames: { from: string; to: string }[];
  vm_labels_added: string[];
  vm_labels_removed: string[];
  resource_labels_added: string[];
  resource_labels_removed: string[];
  sharing_gained: Sharing[];
  sharing_lost: Sharing[];
  conflicts_added: Conflict[];
  conflicts_dropped: Conflict[];
  invalidated_resources: { resource: string; label: string }[];
  dry_run: {
    accepted: boolean;
    violations: { kind: string; message: string; domains: string[] }[];
  };
}

export interface Domain {
  name: string;
  id: number;
  memory?: number;
  vcpus?: number;
  state: string;
  time?: number;
  label: string;
}

export interface ConfigFile {
  file: string;
  name: string;
}

export interface ResourceEntry {
  resource: string;
  policy_type: string;
  policy: string;
  label: string;
}
