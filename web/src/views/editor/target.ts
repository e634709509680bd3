// SPDX-License-Identifier: Apache-2.0
//
// Maps a compiler message (`editor.xml:LINE: element: what`) to the editor field to show it at:
// the field of that XML line, narrowed to a label's type when the message names the type the
// label uses without declaring, or to `renamed from` when it is about `from=`.

import { type Policy } from "../../policy/model";
import { fieldOfMessage, type Serialized } from "../../policy/serialize";

export function targetField(
  p: Policy,
  s: Serialized,
  message: string,
  source: string,
): { field: string; line: number } | null {
  const at = fieldOfMessage(s, message, source);
  if (!at) return null;
  const label = /^(vm|res)\.(\d+)\.name$/.exec(at.field);
  if (!label) return at;
  const [, kind, uid] = label;
  if (/\bfrom\b/.test(message)) return { ...at, field: `${kind}.${uid}.from` };
  const type = /uses (STE|CHWALL|Chinese Wall) type '([^']*)'/i.exec(message);
  if (!type) return at;
  const ste = type[1].toUpperCase() === "STE";
  const t = (ste ? p.ste : p.chwall).find((x) => x.name === type[2]);
  if (!t) return at;
  if (kind === "res") return { ...at, field: `res.${uid}.type` };
  return { ...at, field: `vm.${uid}.${ste ? "ste" : "chwall"}.${t.uid}` };
}
