// SPDX-License-Identifier: Apache-2.0
//
// Entry point of the shype web UI (served by `shype web`, talking only to its routes).

import { render } from "preact";
import { App } from "./app";
import "./style.css";

render(<App />, document.getElementById("app")!);
