// SPDX-License-Identifier: Apache-2.0
//
// Running domains (label, state, the label's types), the domain configs `shype web --configs`
// offers to start, and stop. A refusal (e.g. the Chinese Wall's) is shown beside its domain.

import { useEffect, useState } from "preact/hooks";
import { errorText, get, post } from "../api";
import type { Analysis, ConfigFile, Domain } from "../types";
import { HeadRow, RefreshBar, TypeChips, labelName } from "../ui";

interface Note {
  ok: boolean;
  text: string;
}

function useDomains(epoch: number) {
  const [domains, setDomains] = useState<Domain[]>([]);
  const [configs, setConfigs] = useState<ConfigFile[]>([]);
  const [analysis, setAnalysis] = useState<Analysis | null>(null);
  const [error, setError] = useState("");
  const refresh = async () => {
    try {
      const [d, c] = await Promise.all([
        get<{ domains: Domain[] }>("/api/v1/domains"),
        get<{ configs: ConfigFile[] }>("/web/configs"),
      ]);
      setDomains(d.domains);
      setConfigs(c.configs);
      setError("");
    } catch (e) {
      setError(errorText(e));
    }
    post<Analysis>("/api/v1/policy/analyze", {}).then(setAnalysis, () => setAnalysis(null));
  };
  useEffect(() => {
    refresh();
    const timer = setInterval(refresh, 5000);
    return () => clearInterval(timer);
  }, [epoch]);
  return { domains, configs, analysis, error, refresh };
}

export function DomainsView(props: { epoch: number }) {
  const { domains, configs, analysis, error, refresh } = useDomains(props.epoch);
  const [notes, setNotes] = useState<Record<string, Note>>({});
  const note = (key: string, n: Note) => setNotes((all) => ({ ...all, [key]: n }));
  const act = async (key: string, what: string, f: () => Promise<unknown>) => {
    note(key, { ok: true, text: `${what}…` });
    try {
      await f();
      note(key, { ok: true, text: `${what}: done.` });
    } catch (e) {
      note(key, { ok: false, text: `${what} refused: ${errorText(e)}` });
    }
    refresh();
  };
  const labelTypes = (label: string) => analysis?.vm_labels.find((l) => l.name === labelName(label));
  const running = new Set(domains.map((d) => d.name));
  const stop = (d: Domain) => () =>
    act(`dom:${d.name}`, `Stop ${d.name}`, () => post(`/api/v1/domains/${encodeURIComponent(d.name)}/destroy`));
  const start = (c: ConfigFile) => () =>
    act(`cfg:${c.file}`, `Start ${c.name || c.file}`, () =>
      post(`/web/configs/${encodeURIComponent(c.file)}/start`),
    );
  return (
    <>
      <RefreshBar onRefresh={refresh} error={error} />
      <div class="scroll">
        <table id="domains-table">
          <caption>Running domains</caption>
          <HeadRow cols={["Name", "Id", "State", "Label", "STE types", "Chinese Wall types", "Action"]} />
          <tbody>
            {domains.map((d) => {
              const t = labelTypes(d.label);
              const host = d.id === 0 || d.name === "Domain-0";
              return (
                <tr data-domain={d.name}>
                  <th scope="row">{d.name}</th>
                  <td>{d.id}</td>
                  <td>{d.state}</td>
                  <td>{d.label}</td>
                  <td>{t ? <TypeChips types={t.ste_types} all={analysis!.ste_types} /> : "—"}</td>
                  <td>{t ? t.chwall_types.join(", ") || "none" : "—"}</td>
                  <td>
                    {!host && (
                      <Action text="Stop" what={`Stop ${d.name}`} note={notes[`dom:${d.name}`]} onClick={stop(d)} />
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <div class="scroll">
        <table id="configs-table">
          <caption>Domain configs that can be started</caption>
          <HeadRow cols={["Config", "Domain", "Action"]} />
          <tbody>
            {configs.length === 0 && (
              <tr>
                <td colSpan={3}>No configs (start `shype web --configs DIR`).</td>
              </tr>
            )}
            {configs.map((c) => (
              <tr data-config={c.file}>
                <th scope="row">{c.file}</th>
                <td>{c.name || "—"}</td>
                <td>
                  <Action
                    text="Start"
                    what={`Start ${c.name || c.file}`}
                    note={notes[`cfg:${c.file}`]}
                    disabled={!!c.name && running.has(c.name)}
                    onClick={start(c)}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** A button and, beside it, what became of its last press (a refusal with its reason). */
function Action(props: { text: string; what: string; note?: Note; disabled?: boolean; onClick: () => void }) {
  const n = props.note;
  return (
    <>
      <button type="button" aria-label={props.what} disabled={props.disabled} onClick={props.onClick}>
        {props.text}
      </button>
      {n && (
        <span class={`note ${n.ok ? "ok-text" : "error-text"}`} role={n.ok ? "status" : "alert"}>
          {n.text}
        </span>
      )}
    </>
  );
}
