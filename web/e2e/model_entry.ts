// SPDX-License-Identifier: Apache-2.0
//
// What model_test.mjs loads into the browser: the editor's model, writer and error mapping.
export { parsePolicy } from "../src/policy/parse";
export { serializePolicy } from "../src/policy/serialize";
export { targetField } from "../src/views/editor/target";
