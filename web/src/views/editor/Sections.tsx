// SPDX-License-Identifier: Apache-2.0
//
// The editor's form: header, STE and Chinese Wall types, conflict sets, VM and resource labels.
// Each input's field id is the one serialize.ts gives its XML line.

import * as E from "../../policy/edit";
import { type Policy, type TypeDecl, type Uid } from "../../policy/model";
import { AddForm, CheckField, SelectField, TextField } from "./fields";

type Set = (f: (p: Policy) => Policy) => void;
interface Props {
  policy: Policy;
  update: Set;
}

function RemoveButton(props: { what: string; onClick: () => void }) {
  return (
    <button type="button" class="remove" aria-label={props.what} onClick={props.onClick}>
      Remove
    </button>
  );
}

function Header({ policy: p, update }: Props) {
  const field = (key: keyof Policy["header"], label: string) => (
    <TextField
      field={`header.${key}`}
      label={label}
      value={p.header[key]}
      onInput={(v) => update((q) => E.setHeader(q, key, v))}
    />
  );
  return (
    <section aria-labelledby="h-header" class="card">
      <h3 id="h-header">Header</h3>
      <div class="row">
        {field("name", "Policy name")}
        {field("version", "Version")}
        {field("date", "Date")}
      </div>
      <div class="row">
        {field("fromName", "Replaces policy (FromPolicy)")}
        {field("fromVersion", "of version")}
      </div>
    </section>
  );
}

function Types(props: Props & { kind: E.TypeKind; title: string }) {
  const { policy: p, update, kind } = props;
  const declared = p[kind].filter((t) => t.declared);
  return (
    <section aria-labelledby={`h-${kind}`} class="card">
      <h3 id={`h-${kind}`}>{props.title}</h3>
      <ul class="items">
        {declared.map((t, i) => (
          <li key={t.uid}>
            <TextField
              field={`${kind}.${t.uid}`}
              label={`${kind === "ste" ? "STE" : "Chinese Wall"} type ${i + 1}`}
              hideLabel
              value={t.name}
              onInput={(v) => update((q) => E.renameType(q, kind, t.uid, v))}
            />
            <RemoveButton what={`Remove type ${t.name}`} onClick={() => update((q) => E.removeType(q, kind, t.uid))} />
          </li>
        ))}
      </ul>
      <AddForm
        field={`${kind}.new`}
        label={kind === "ste" ? "Add STE type" : "Add Chinese Wall type"}
        onAdd={(n) => update((q) => E.addType(q, kind, n))}
      />
    </section>
  );
}

/** Checkboxes for the declared types plus any undeclared ones `chosen` uses. */
function TypeChecks(props: {
  legend: string;
  types: TypeDecl[];
  chosen: Uid[];
  field: (uid: Uid) => string;
  onChange: (uid: Uid, on: boolean) => void;
}) {
  const shown = props.types.filter((t) => t.declared || props.chosen.includes(t.uid));
  return (
    <fieldset class="types">
      <legend>{props.legend}</legend>
      {shown.length === 0 && <span class="muted">no types declared</span>}
      {shown.map((t) => (
        <CheckField
          key={t.uid}
          field={props.field(t.uid)}
          checked={props.chosen.includes(t.uid)}
          extraClass={t.declared ? "" : "undeclared"}
          label={t.declared ? t.name : `${t.name} (not declared)`}
          onChange={(on) => props.onChange(t.uid, on)}
        />
      ))}
    </fieldset>
  );
}

function ConflictSets({ policy: p, update }: Props) {
  return (
    <section aria-labelledby="h-cs" class="card">
      <h3 id="h-cs">Conflict sets</h3>
      <p class="hint">Of the Chinese Wall types in one set, at most one may run on the host.</p>
      <ul class="items blocks">
        {p.conflictSets.map((c) => (
          <li key={c.uid}>
            <div class="row">
              <TextField
                field={`cs.${c.uid}.name`}
                label="Conflict set"
                value={c.name}
                onInput={(v) => update((q) => E.updateConflictSet(q, c.uid, v))}
              />
              <RemoveButton what={`Remove conflict set ${c.name}`} onClick={() => update((q) => E.removeConflictSet(q, c.uid))} />
            </div>
            <TypeChecks
              legend={`Types in conflict set ${c.name}`}
              types={p.chwall}
              chosen={c.types}
              field={(u) => `cs.${c.uid}.type.${u}`}
              onChange={(u, on) => update((q) => E.updateConflictSet(q, c.uid, undefined, [u, on]))}
            />
          </li>
        ))}
      </ul>
      <AddForm field="cs.new" label="Add conflict set" onAdd={(n) => update((q) => E.addConflictSet(q, n))} />
    </section>
  );
}

function LabelName(props: {
  kind: E.LabelKind;
  label: { uid: Uid; name: string; from: string };
  update: Set;
  title: string;
}) {
  const { kind, label: l, update } = props;
  return (
    <div class="row">
      <TextField
        field={`${kind}.${l.uid}.name`}
        label={props.title}
        value={l.name}
        onInput={(v) => update((q) => E.renameLabel(q, kind, l.uid, v))}
      />
      <TextField
        field={`${kind}.${l.uid}.from`}
        label="renamed from"
        value={l.from}
        placeholder="(not renamed)"
        onInput={(v) => update((q) => E.setLabelFrom(q, kind, l.uid, v))}
      />
      <RemoveButton what={`Remove label ${l.name}`} onClick={() => update((q) => E.removeLabel(q, kind, l.uid))} />
    </div>
  );
}

function VmLabels({ policy: p, update }: Props) {
  const options = [
    { value: "0", label: "(none)" },
    ...p.vmLabels.map((l) => ({ value: String(l.uid), label: l.name })),
  ];
  return (
    <section aria-labelledby="h-vm" class="card">
      <h3 id="h-vm">VM labels</h3>
      <SelectField
        field="bootstrap"
        label="Bootstrap label (the host, Domain-0)"
        value={String(p.bootstrap)}
        options={options}
        onChange={(v) => update((q) => ({ ...q, bootstrap: Number(v) }))}
      />
      <ul class="items blocks">
        {p.vmLabels.map((l) => (
          <li key={l.uid}>
            <LabelName kind="vm" label={l} update={update} title="VM label" />
            <TypeChecks
              legend={`STE types of ${l.name}`}
              types={p.ste}
              chosen={l.ste}
              field={(u) => `vm.${l.uid}.ste.${u}`}
              onChange={(u, on) => update((q) => E.setVmType(q, l.uid, "ste", u, on))}
            />
            <TypeChecks
              legend={`Chinese Wall types of ${l.name}`}
              types={p.chwall}
              chosen={l.chwall}
              field={(u) => `vm.${l.uid}.chwall.${u}`}
              onChange={(u, on) => update((q) => E.setVmType(q, l.uid, "chwall", u, on))}
            />
          </li>
        ))}
      </ul>
      <AddForm field="vm.new" label="Add VM label" onAdd={(n) => update((q) => E.addLabel(q, "vm", n))} />
    </section>
  );
}

function ResourceLabels({ policy: p, update }: Props) {
  const options = [
    { value: "0", label: "(no type)" },
    ...p.ste.filter((t) => t.declared).map((t) => ({ value: String(t.uid), label: t.name })),
  ];
  return (
    <section aria-labelledby="h-res" class="card">
      <h3 id="h-res">Resource labels</h3>
      <ul class="items blocks">
        {p.resLabels.map((l) => {
          const current = l.ste[0] ?? 0;
          const undeclared = p.ste.find((t) => t.uid === current && !t.declared);
          const opts = undeclared
            ? [...options, { value: String(current), label: `${undeclared.name} (not declared)` }]
            : options;
          return (
            <li key={l.uid}>
              <LabelName kind="res" label={l} update={update} title="Resource label" />
              <SelectField
                field={`res.${l.uid}.type`}
                label={`STE type of ${l.name}`}
                value={String(current)}
                options={opts}
                onChange={(v) => update((q) => E.setResType(q, l.uid, Number(v) || null))}
              />
            </li>
          );
        })}
      </ul>
      <AddForm field="res.new" label="Add resource label" onAdd={(n) => update((q) => E.addLabel(q, "res", n))} />
    </section>
  );
}

export function Sections(props: Props) {
  return (
    <div class="sections">
      <Header {...props} />
      <Types {...props} kind="ste" title="STE types" />
      <Types {...props} kind="chwall" title="Chinese Wall types" />
      <ConflictSets {...props} />
      <VmLabels {...props} />
      <ResourceLabels {...props} />
    </div>
  );
}
