// SPDX-License-Identifier: Apache-2.0
//
// The audit trail, live: shyped's records as server-sent events from /web/audit, newest first.

import { useEffect, useState } from "preact/hooks";
import { HeadRow } from "../ui";

interface Party {
  domain?: number;
  name?: string;
  resource?: string;
  label?: string;
}
interface Record {
  time: string;
  action: string;
  hook: string;
  decision: string;
  subject: Party;
  object: Party;
  reason: string;
}

const MAX = 300;
function party(p: Party | undefined): string {
  if (!p) return "—";
  const who = p.name ?? p.resource ?? (p.domain !== undefined ? `domain ${p.domain}` : "");
  const label = p.label ? `(${p.label})` : "";
  return [who, label].filter(Boolean).join(" ") || "—";
}
const shortTime = (t: string) => t.replace("T", " ").replace(/\.\d+Z$/, "Z");

export function AuditView() {
  const [records, setRecords] = useState<Record[]>([]);
  const [state, setState] = useState("connecting");
  useEffect(() => {
    const source = new EventSource("/web/audit");
    source.onopen = () => setState("live");
    source.onerror = () => setState("reconnecting");
    source.onmessage = (e) => {
      try {
        const r = JSON.parse(e.data) as Record;
        setRecords((all) => [r, ...all].slice(0, MAX));
      } catch {
        /* not a record: ignored */
      }
    };
    return () => source.close();
  }, []);
  return (
    <>
      <p role="status">
        Feed: <strong id="audit-state">{state}</strong>; {records.length} records (newest first).
      </p>
      <div class="scroll">
        <table id="audit-table" aria-live="polite" aria-relevant="additions">
          <caption>Audit records</caption>
          <HeadRow cols={["Time", "Action", "Decision", "Subject", "Object", "Reason"]} />
          <tbody>
            {records.map((r) => (
              <tr class={r.decision === "deny" ? "deny" : undefined}>
                <td class="nowrap" title={r.time}>
                  {shortTime(r.time)}
                </td>
                <td>{r.action || r.hook}</td>
                <td>{r.decision}</td>
                <td>{party(r.subject)}</td>
                <td>{party(r.object)}</td>
                <td>{r.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
