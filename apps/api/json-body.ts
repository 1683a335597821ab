import type { FastifyInstance } from "fastify";
import { HttpProblem } from "./problem.ts";

// Every JSON body is bounded before anything walks it. The byte size is bounded by fastify's
// bodyLimit (1 MiB, 16 MiB on the chat routes); the nesting depth by MAX_JSON_DEPTH, checked here
// with a loop over the text (no recursion) before JSON.parse. That bound is what keeps the recursive
// walkers downstream safe on hostile input: zod, canonicalJson (Idempotency-Key fingerprint, hash
// chain), JSON.stringify (prompt measure, upstream body), the BSON and SQLite JSON encoders.
// Bytes that are not valid UTF-8 are refused, never silently replaced with U+FFFD.

/** deepest nesting of objects and arrays a request body may have */
export const MAX_JSON_DEPTH = 64;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** the characters that open or close a string or a level; the scan jumps from one to the next */
const STRUCTURE = /["\\[\]{}]/g;

/** true when objects/arrays in `text` nest deeper than `limit` (exact for valid JSON; invalid JSON fails to parse anyway) */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  STRUCTURE.lastIndex = 0;
  for (let m = STRUCTURE.exec(text); m !== null; m = STRUCTURE.exec(text)) {
    const c = text.charCodeAt(m.index);
    if (inString) {
      if (c === 0x5c) STRUCTURE.lastIndex++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** Replaces fastify's JSON parser (same prototype-poisoning refusal) with one that checks encoding and depth first. */
export function registerJsonBody(app: FastifyInstance) {
  const parse = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body: Buffer, done) => {
    let text: string;
    try {
      text = utf8.decode(body);
    } catch {
      return done(new HttpProblem(400, "REQUEST.INVALID_UTF8", "the body is not valid UTF-8"), undefined);
    }
    if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
      return done(new HttpProblem(400, "REQUEST.TOO_DEEP", `JSON nested deeper than ${MAX_JSON_DEPTH} levels`), undefined);
    }
    parse(request, text, done);
  });
}
