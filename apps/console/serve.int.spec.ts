import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testApp, type TestApp } from "../../test/harness/platform.ts";

// The console's own responses: a strict CSP and the other hardening headers, no inline script or
// style in the page, versioned assets cached for good, gzip, and a bundle that never parses HTML.

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(() => t.close());

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

describe("the console's responses", () => {
  it("GET / is the page: same-origin script and style only, nothing inline, hardened headers, no token needed", async () => {
    const res = await t.app.inject({ url: "/" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(res.headers["content-security-policy"]).toBe(CSP);
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(res.headers["referrer-policy"]).toBe("no-referrer");
    expect(res.headers["x-frame-options"]).toBe("DENY");
    expect(res.headers["set-cookie"]).toBeUndefined();
    const html = res.body;
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts).toHaveLength(1);
    expect(scripts[0]![1]).toMatch(/ src="\/console\/app\.js\?v=[0-9a-f]{16}"/);
    expect(scripts[0]![2]).toBe(""); // no inline code
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=|javascript:|https?:\/\//i); // nothing inline, nothing from elsewhere
  });

  it("serves the versioned bundle with the same headers, immutable, gzipped when asked", async () => {
    const version = /app\.js\?v=([0-9a-f]+)/.exec((await t.app.inject({ url: "/" })).body)![1];
    const js = await t.app.inject({ url: `/console/app.js?v=${version}`, headers: { "accept-encoding": "gzip, br" } });
    expect(js.statusCode).toBe(200);
    expect(js.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(js.headers["content-encoding"]).toBe("gzip");
    expect(js.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(js.headers["content-security-policy"]).toBe(CSP);
    const plain = await t.app.inject({ url: "/console/app.js" });
    expect(plain.headers["content-encoding"]).toBeUndefined();
    expect(plain.headers["cache-control"]).toBe("no-cache"); // not the versioned URL: revalidate
    expect(gunzipSync(js.rawPayload).toString()).toBe(plain.body);
    const css = await t.app.inject({ url: `/console/app.css?v=${version}` });
    expect(css.headers["content-type"]).toBe("text/css; charset=utf-8");
    expect(css.body).toContain(".u-legend"); // uPlot's stylesheet is bundled in, not fetched
  });

  it("the bundle never turns text into HTML: no innerHTML, outerHTML, insertAdjacentHTML, document.write or eval", async () => {
    const js = (await t.app.inject({ url: "/console/app.js" })).body;
    expect(js.length).toBeGreaterThan(10_000);
    for (const sink of ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"])
      expect(js, sink).not.toContain(sink);
  });

  it("an unknown console file is a problem+json 404", async () => {
    const res = await t.app.inject({ url: "/console/..%2Fpackage.json" });
    expect(res.statusCode).toBe(404);
    expect(res.headers["content-type"]).toContain("application/problem+json");
  });
});
