// SPDX-License-Identifier: Apache-2.0
//
// Labeled resources (disks, networks, shared-memory regions) with their labels.

import { useEffect, useState } from "preact/hooks";
import { errorText, get } from "../api";
import type { ResourceEntry } from "../types";
import { HeadRow, RefreshBar } from "../ui";

export function ResourcesView(props: { epoch: number }) {
  const [rows, setRows] = useState<ResourceEntry[]>([]);
  const [error, setError] = useState("");
  const refresh = () =>
    get<{ resources: ResourceEntry[] }>("/api/v1/resources")
      .then((r) => (setRows(r.resources), setError("")))
      .catch((e) => setError(errorText(e)));
  useEffect(() => {
    refresh();
  }, [props.epoch]);
  return (
    <>
      <RefreshBar onRefresh={refresh} error={error} />
      <div class="scroll">
        <table id="resources-table">
          <caption>Labeled resources</caption>
          <HeadRow cols={["Resource", "Policy type", "Policy", "Label"]} />
          <tbody>
            {rows.length === 0 && (
              <tr>
                <td colSpan={4}>No labeled resources.</td>
              </tr>
            )}
            {rows.map((r) => (
              <tr>
                <th scope="row" class="path">{r.resource}</th>
                <td class={r.policy_type === "INV_ACM" ? "error-text" : undefined}>{r.policy_type}</td>
                <td>{r.policy}</td>
                <td>{r.label}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
