// SPDX-License-Identifier: Apache-2.0
//
// Editor inputs that know their field id: the one the compiler's error points at is marked
// aria-invalid, described by the message shown beside it, and focused.

import { createContext, type ComponentChildren } from "preact";
import { useContext, useEffect, useRef } from "preact/hooks";

export interface FieldError {
  field: string;
  message: string;
  /** Bumped on every new error, so the same field is focused again. */
  seq: number;
}

export const ErrorContext = createContext<FieldError | null>(null);

export const domId = (field: string) => "f-" + field.replace(/[^A-Za-z0-9_-]/g, "-");

function useFieldError(field: string) {
  const error = useContext(ErrorContext);
  const ref = useRef<HTMLInputElement & HTMLSelectElement>(null);
  const mine = error && error.field === field ? error : null;
  useEffect(() => {
    if (mine) ref.current?.focus();
  }, [mine?.seq]);
  const errId = `${domId(field)}-error`;
  const props = {
    id: domId(field),
    ref,
    "aria-invalid": mine ? ("true" as const) : undefined,
    "aria-describedby": mine ? errId : undefined,
  };
  const message = mine ? (
    <span class="field-error" id={errId} role="alert">
      {mine.message}
    </span>
  ) : null;
  return { props, message };
}

export function TextField(props: {
  field: string;
  label: string;
  value: string;
  onInput: (v: string) => void;
  hideLabel?: boolean;
  placeholder?: string;
}) {
  const { props: p, message } = useFieldError(props.field);
  return (
    <span class="field">
      <label for={p.id} class={props.hideLabel ? "sr-only" : undefined}>
        {props.label}
      </label>
      <input
        {...p}
        type="text"
        value={props.value}
        placeholder={props.placeholder}
        spellcheck={false}
        onInput={(e) => props.onInput((e.target as HTMLInputElement).value)}
      />
      {message}
    </span>
  );
}

export function CheckField(props: {
  field: string;
  label: ComponentChildren;
  checked: boolean;
  onChange: (on: boolean) => void;
  extraClass?: string;
}) {
  const { props: p, message } = useFieldError(props.field);
  return (
    <span class={`check ${props.extraClass ?? ""}`}>
      <input
        {...p}
        type="checkbox"
        checked={props.checked}
        onChange={(e) => props.onChange((e.target as HTMLInputElement).checked)}
      />
      <label for={p.id}>{props.label}</label>
      {message}
    </span>
  );
}

export function SelectField(props: {
  field: string;
  label: string;
  value: string;
  options: { value: string; label: string }[];
  onChange: (v: string) => void;
}) {
  const { props: p, message } = useFieldError(props.field);
  return (
    <span class="field">
      <label for={p.id}>{props.label}</label>
      <select
        {...p}
        value={props.value}
        onChange={(e) => props.onChange((e.target as HTMLSelectElement).value)}
      >
        {props.options.map((o) => (
          <option value={o.value}>{o.label}</option>
        ))}
      </select>
      {message}
    </span>
  );
}

/** A one-input form adding an item on Enter or its button; the input is a field too. */
export function AddForm(props: { field: string; label: string; onAdd: (name: string) => void }) {
  const { props: p, message } = useFieldError(props.field);
  const submit = (e: Event) => {
    e.preventDefault();
    const input = (e.target as HTMLFormElement).elements.namedItem("name") as HTMLInputElement;
    const name = input.value.trim();
    if (!name) return;
    props.onAdd(name);
    input.value = "";
  };
  return (
    <form class="add" onSubmit={submit}>
      <label for={p.id} class="sr-only">
        {props.label}
      </label>
      <input {...p} name="name" type="text" placeholder={props.label} spellcheck={false} />
      <button type="submit">{props.label}</button>
      {message}
    </form>
  );
}
