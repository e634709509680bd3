// SPDX-License-Identifier: Apache-2.0
//
// The XML the editor sends, with line numbers; the line of the last compiler error is marked.

export function XmlPreview(props: { xml: string; errorLine: number }) {
  const lines = props.xml.replace(/\n$/, "").split("\n");
  return (
    <details class="card xml">
      <summary>XML sent to shyped ({lines.length} lines)</summary>
      <ol class="code" aria-label="Policy XML">
        {lines.map((l, i) => (
          <li class={i + 1 === props.errorLine ? "error-line" : undefined}>
            <code>{l}</code>
          </li>
        ))}
      </ol>
    </details>
  );
}
