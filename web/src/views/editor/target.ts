// SPDX-License-Identifier: Apache-2.0
//
// Maps a compiler message (`editor.xml:LINE: element: what`) to the editor field to show it at:
// the field of that XML line, narrowed to the type a label or conflict set uses without
// declaring it, or to `renamed from` when the message is about a label's from=.

import { type Policy, type TypeDecl } from "../../policy/model";
import { fieldOfMessage, type Serialized } from "../../policy/serialize";

const byName = (types: TypeDecl[], name: string) => types.find((t) => t.name === name);

export function targetField(
  p: Policy,
  s: Serialized,
  message: string,
  source: string,
): { field: string; line: number } | null {
  const at = fieldOfMessage(s, message, source);
  if (!at) return null;
  const narrow = (field: string) => ({ ...at, field });
  const set = /^cs\.(\d+)\.name$/.exec(at.field);
  if (set) {
    const used = /uses type '([^']*)'/.exec(message);
    const t = used && byName(p.chwall, used[1]);
    return t ? narrow(`cs.${set[1]}.type.${t.uid}`) : at;
  }
  const label = /^(vm|res)\.(\d+)\.name$/.exec(at.field);
  if (!label) return at;
  const [, kind, uid] = label;
  if (/\bfrom="|renamed from '/.test(message)) return narrow(`${kind}.${uid}.from`);
  const used = /uses (STE|CHWALL) type '([^']*)'/.exec(message);
  if (!used) return at;
  const ste = used[1] === "STE";
  const t = byName(ste ? p.ste : p.chwall, used[2]);
  if (!t) return at;
  if (kind === "res") return narrow(`res.${uid}.type`);
  return narrow(`vm.${uid}.${ste ? "ste" : "chwall"}.${t.uid}`);
}
