// SPDX-License-Identifier: Apache-2.0
//
// The access checks of `shype web`, as raw HTTP requests (node:http, so that Host, Origin and
// Sec-Fetch-Site can be set as an attacker would): no token, a wrong token, no or a wrong
// anti-CSRF header, another Origin or Host, a cross-site fetch. Used by web_ui.mjs.

import http from "node:http";

/** Sends one request; resolves to {status, headers, body}. */
export function raw(base, method, path, headers = {}, body) {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers },
      (res) => {
        let data = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (data += c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
      },
    );
    req.on("error", reject);
    req.setTimeout(15000, () => req.destroy(new Error(`${method} ${path}: no reply in 15 s`)));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Logs in with the URL's token; returns {cookie, csrf} of the session. */
export async function login(t, startUrl) {
  const u = new URL(startUrl);
  const r = await raw(u.origin, "GET", u.pathname + u.search);
  t.check(r.status === 303, `GET /?token=T answers 303 (got ${r.status})`);
  const setCookie = [r.headers["set-cookie"] ?? []].flat().join("; ");
  t.check(/shype_session=/.test(setCookie), "... setting the session cookie");
  t.check(/HttpOnly/i.test(setCookie) && /SameSite=Strict/i.test(setCookie), `... HttpOnly, SameSite=Strict: ${setCookie}`);
  const cookie = (/shype_session=[^;]*/.exec(setCookie) ?? [""])[0];
  const s = await raw(u.origin, "GET", "/web/session", { Cookie: cookie });
  const csrf = s.status === 200 ? JSON.parse(s.body).csrf : "";
  t.check(!!csrf, `GET /web/session gives the anti-CSRF token (${s.status})`);
  return { cookie, csrf };
}

/** Every way in without the token, or across sites, is refused; the right way is not. */
export async function securityChecks(t, startUrl) {
  const u = new URL(startUrl);
  const base = u.origin;
  const host = u.host;
  const token = u.searchParams.get("token") ?? "";
  const json = { "Content-Type": "application/json" };
  const body = "{}";

  let r = await raw(base, "GET", "/api/v1/domains");
  t.check(r.status === 401, `no token: GET /api/v1/domains is 401 (got ${r.status})`);
  t.check(/unauthenticated/.test(r.body), "... code unauthenticated");
  r = await raw(base, "GET", "/web/session");
  t.check(r.status === 401, `no token: GET /web/session is 401 (got ${r.status})`);
  r = await raw(base, "POST", "/api/v1/policy/analyze", json, body);
  t.check(r.status === 401, `no token: POST is 401 (got ${r.status})`);
  const wrong = token.replace(/^./, (c) => (c === "0" ? "1" : "0"));
  r = await raw(base, "GET", `/?token=${wrong}`);
  t.check(r.status === 401 && !r.headers["set-cookie"], `a wrong token is 401, no cookie (got ${r.status})`);
  r = await raw(base, "GET", "/api/v1/domains", { Cookie: `shype_session=${wrong}` });
  t.check(r.status === 401, `a wrong session cookie is 401 (got ${r.status})`);

  const { cookie, csrf } = await login(t, startUrl);
  const auth = { Cookie: cookie, ...json };
  r = await raw(base, "POST", "/api/v1/policy/analyze", auth, body);
  t.check(r.status === 403, `no X-Shype-CSRF: POST is 403 (got ${r.status})`);
  r = await raw(base, "POST", "/api/v1/policy/analyze", { ...auth, "X-Shype-CSRF": "0".repeat(64) }, body);
  t.check(r.status === 403, `a wrong X-Shype-CSRF: 403 (got ${r.status})`);
  const ok = { ...auth, "X-Shype-CSRF": csrf };
  r = await raw(base, "POST", "/api/v1/policy/analyze", { ...ok, Origin: "http://evil.example" }, body);
  t.check(r.status === 403, `Origin: http://evil.example is 403 (got ${r.status})`);
  r = await raw(base, "GET", "/api/v1/domains", { Cookie: cookie, Origin: "http://evil.example" });
  t.check(r.status === 403, `... a GET too (got ${r.status})`);
  r = await raw(base, "POST", "/api/v1/policy/analyze", { ...ok, "Sec-Fetch-Site": "cross-site" }, body);
  t.check(r.status === 403, `Sec-Fetch-Site: cross-site is 403 (got ${r.status})`);
  r = await raw(base, "GET", "/api/v1/domains", { Cookie: cookie, Host: `evil.example:${u.port}` });
  t.check(r.status === 403, `Host: evil.example (DNS rebinding) is 403 (got ${r.status})`);
  r = await raw(base, "POST", "/api/v1/policy/analyze", { ...ok, Origin: `http://${host}` }, body);
  t.check(r.status === 200, `the same request from the UI's own origin with the token is 200 (got ${r.status})`);
  return { cookie, csrf };
}

/**
 * A page of another origin (another port of 127.0.0.1, so the same site: SameSite does not help)
 * in the logged-in browser sends requests to the UI's server; each must be refused (403).
 */
export async function crossSiteChecks(t, context, startUrl, victim) {
  const target = new URL(startUrl).origin;
  const evil = http.createServer((_, res) => {
    res.writeHead(200, { "Content-Type": "text/html" });
    res.end(`<!doctype html><title>evil</title><p>evil page</p>
<form id="f" method="POST" action="${target}/api/v1/domains/${victim}/destroy" enctype="text/plain">
<input name='{"a":"' value='"}'></form>`);
  });
  await new Promise((r) => evil.listen(0, "127.0.0.1", r));
  const evilUrl = `http://127.0.0.1:${evil.address().port}/`;
  const page = await context.newPage();
  try {
    await page.goto(evilUrl);
    const statuses = [];
    page.on("response", (res) => res.url().startsWith(target) && statuses.push([res.url(), res.status()]));
    const results = await page.evaluate(
      async ({ target, victim }) => {
        const out = [];
        for (const [method, path] of [
          ["GET", "/api/v1/domains"],
          ["GET", "/web/session"],
          ["POST", `/api/v1/domains/${victim}/destroy`],
        ]) {
          try {
            const r = await fetch(target + path, { method, mode: "no-cors", credentials: "include" });
            out.push(`${method} ${path}: opaque ${r.type}`);
          } catch (e) {
            out.push(`${method} ${path}: ${e}`);
          }
        }
        return out;
      },
      { target, victim },
    );
    const formResponse = page.waitForResponse((res) => res.url().includes("/destroy"), { timeout: 10000 });
    await page.evaluate(() => document.getElementById("f").submit());
    const form = await formResponse.catch(() => null);
    await page.waitForTimeout(500);
    // Either the 403s reach the page as opaque responses, or Chromium's opaque-response blocking
    // (a nosniff JSON reply to a no-cors request) turns them into network errors; neither lets the
    // page read anything, and mon1 still running (below) shows the POST changed nothing.
    const blocked = results.every((r) => r.includes("TypeError"));
    t.check(
      statuses.length >= 3 || blocked,
      `the cross-site page's fetches got nothing it can read: ${results.join("; ")}`,
    );
    for (const [url, status] of statuses)
      t.check(status === 403, `cross-site ${url} is refused 403 (got ${status})`);
    t.check(form && form.status() === 403, `a cross-site form POST is refused 403 (got ${form?.status()})`);
  } finally {
    await page.close();
    evil.close();
  }
}
