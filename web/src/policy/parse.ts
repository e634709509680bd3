// SPDX-License-Identifier: Apache-2.0
//
// Reads policy XML (SecurityPolicyDefinition) into the editor's model with the browser's
// DOMParser. Only what the model holds is read (comments and unknown elements are dropped); the
// compiler, not this reader, decides whether the policy is valid.

import { newUid, type Policy, type TypeDecl, type Uid } from "./model";

const children = (el: Element | undefined, name: string): Element[] =>
  el ? Array.from(el.children).filter((c) => c.localName === name) : [];
const child = (el: Element | undefined, name: string): Element | undefined =>
  children(el, name)[0];
const text = (el: Element | undefined): string => el?.textContent?.trim() ?? "";

function typeNames(list: Element | undefined): string[] {
  return children(list, "Type")
    .map(text)
    .filter((t) => t !== "");
}

/** Returns the uids of `names` in `types`, adding an undeclared entry for a name not there. */
function refs(types: TypeDecl[], names: string[]): Uid[] {
  return names.map((name) => {
    let t = types.find((x) => x.name === name);
    if (!t) {
      t = { uid: newUid(), name, declared: false };
      types.push(t);
    }
    return t.uid;
  });
}

/** Parses `xml`; throws an Error naming what is missing when it is no policy document. */
export function parsePolicy(xml: string): Policy {
  const doc = new DOMParser().parseFromString(xml, "application/xml");
  const error = doc.getElementsByTagName("parsererror")[0];
  if (error) throw new Error(`the XML is not well-formed: ${text(error)}`);
  const root = doc.documentElement;
  if (root.localName !== "SecurityPolicyDefinition")
    throw new Error(`the root element is <${root.localName}>, not <SecurityPolicyDefinition>`);

  const h = child(root, "PolicyHeader");
  const from = child(h, "FromPolicy");
  const declare = (list: Element | undefined): TypeDecl[] =>
    typeNames(list).map((name) => ({ uid: newUid(), name, declared: true }));
  const steEl = child(root, "SimpleTypeEnforcement");
  const cwEl = child(root, "ChineseWall");
  const ste = declare(child(steEl, "SimpleTypeEnforcementTypes"));
  const chwall = declare(child(cwEl, "ChineseWallTypes"));
  const conflictSets = children(child(cwEl, "ConflictSets"), "Conflict").map((c) => ({
    uid: newUid(),
    name: c.getAttribute("name") ?? "",
    types: refs(chwall, typeNames(c)),
  }));

  const template = child(root, "SecurityLabelTemplate");
  const subjects = child(template, "SubjectLabels");
  const label = (l: Element) => {
    const n = child(l, "Name");
    const name = text(n);
    const from = n?.getAttribute("from") ?? "";
    const steRefs = refs(ste, typeNames(child(l, "SimpleTypeEnforcementTypes")));
    return { uid: newUid(), name, from, original: name, ste: steRefs };
  };
  const vmLabels = children(subjects, "VirtualMachineLabel").map((l) => ({
    ...label(l),
    chwall: refs(chwall, typeNames(child(l, "ChineseWallTypes"))),
  }));
  const resLabels = children(child(template, "ObjectLabels"), "ResourceLabel").map(label);
  const bootstrapName = subjects?.getAttribute("bootstrap") ?? "";
  return {
    header: {
      name: text(child(h, "PolicyName")),
      url: text(child(h, "PolicyUrl")),
      reference: text(child(h, "Reference")),
      date: text(child(h, "Date")),
      namespaceUrl: text(child(h, "NameSpaceUrl")),
      version: text(child(h, "Version")),
      fromName: text(child(from, "PolicyName")),
      fromVersion: text(child(from, "Version")),
    },
    ste,
    chwall,
    conflictSets,
    bootstrap: vmLabels.find((l) => l.name === bootstrapName)?.uid ?? 0,
    vmLabels,
    resLabels,
  };
}
