// SPDX-License-Identifier: Apache-2.0
//
// The application shell: a navigation of views (hash routes, plain links so the keyboard and
// the browser's history work), the heading of the current view focused on a change of view.

import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { serializePolicy } from "./policy/serialize";
import { AuditView } from "./views/Audit";
import { ConflictsView } from "./views/Conflicts";
import { DiffView } from "./views/Diff";
import { DomainsView } from "./views/Domains";
import { Editor, type EditorState } from "./views/editor/Editor";
import { MatrixView } from "./views/Matrix";
import { ResourcesView } from "./views/Resources";

const VIEWS = [
  { id: "editor", title: "Policy editor" },
  { id: "matrix", title: "Share matrix" },
  { id: "conflicts", title: "Conflict graph" },
  { id: "diff", title: "Diff" },
  { id: "domains", title: "Domains" },
  { id: "resources", title: "Resources" },
  { id: "audit", title: "Audit" },
] as const;
type ViewId = (typeof VIEWS)[number]["id"];

const fromHash = (): ViewId => {
  const id = location.hash.replace(/^#\/?/, "");
  return (VIEWS.find((v) => v.id === id)?.id ?? "editor") as ViewId;
};

export function App() {
  const [view, setView] = useState<ViewId>(fromHash());
  const [epoch, setEpoch] = useState(0);
  const [editor, setEditor] = useState<EditorState>({ policy: null, loaded: "", savedXml: "" });
  const heading = useRef<HTMLHeadingElement>(null);
  const first = useRef(true);
  useEffect(() => {
    const onHash = () => setView(fromHash());
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);
  // Moved with the render, so the new view's heading has the focus as soon as it shows.
  useLayoutEffect(() => {
    if (first.current) first.current = false;
    else heading.current?.focus();
  }, [view]);
  const editorXml = useMemo(() => {
    const xml = editor.policy ? serializePolicy(editor.policy).xml : null;
    return () => xml;
  }, [editor.policy]);
  const bump = () => setEpoch((e) => e + 1);
  const title = VIEWS.find((v) => v.id === view)!.title;
  return (
    <>
      <header class="top">
        <h1>shype</h1>
        <nav aria-label="Views">
          <ul>
            {VIEWS.map((v) => (
              <li>
                <a href={`#/${v.id}`} aria-current={v.id === view ? "page" : undefined}>
                  {v.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main id="main" aria-labelledby="view-title">
        <h2 id="view-title" tabIndex={-1} ref={heading}>
          {title}
        </h2>
        {view === "editor" && <Editor state={editor} setState={setEditor} onPolicyChanged={bump} />}
        {view === "matrix" && <MatrixView epoch={epoch} editorXml={editorXml} />}
        {view === "conflicts" && <ConflictsView epoch={epoch} editorXml={editorXml} />}
        {view === "diff" && <DiffView epoch={epoch} editorXml={editorXml} />}
        {view === "domains" && <DomainsView epoch={epoch} />}
        {view === "resources" && <ResourcesView epoch={epoch} />}
        {view === "audit" && <AuditView />}
      </main>
    </>
  );
}
