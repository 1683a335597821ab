import type { FastifyInstance } from "fastify";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "../../application/gateway/json-depth.ts";
import { HttpProblem } from "./problem.ts";

// Every JSON body is bounded before anything walks it. The byte size is bounded by fastify's
// bodyLimit (1 MiB, 16 MiB on the chat routes); the nesting depth by MAX_JSON_DEPTH, checked here
// with a loop over the text (no recursion) before JSON.parse. That bound is what keeps the recursive
// walkers downstream safe on hostile input: zod, canonicalJson (Idempotency-Key fingerprint, hash
// chain), JSON.stringify (prompt measure, upstream body), the BSON and SQLite JSON encoders.
// Bytes that are not valid UTF-8 are refused, never silently replaced with U+FFFD.

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Replaces fastify's JSON parser with one that checks encoding and depth first; `__proto__` and
 * `constructor.prototype` keys are dropped (they pollute nothing, and the documented loose objects allow any key).
 */
export function registerJsonBody(app: FastifyInstance) {
  const parse = app.getDefaultJsonParser("remove", "remove");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body: Buffer, done) => {
    let text: string;
    try {
      text = utf8.decode(body);
    } catch {
      return done(new HttpProblem("REQUEST.INVALID_UTF8", "the body is not valid UTF-8"), undefined);
    }
    if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
      return done(new HttpProblem("REQUEST.TOO_DEEP", `JSON nested deeper than ${MAX_JSON_DEPTH} levels`), undefined);
    }
    void parse(request, text, done);
  });
}
