// SPDX-License-Identifier: Apache-2.0
//
// Builds the UI bundle that `shype web` serves (CMake passes --outDir build/web/dist).
// No inline scripts: the server's CSP is default-src 'self'.
import { defineConfig } from "vite";

export default defineConfig({
  base: "/",
  build: {
    target: "es2022",
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
  },
});
