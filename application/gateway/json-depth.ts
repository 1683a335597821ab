// Nesting depth of a JSON text, measured without recursion and without parsing: the bound checked
// before JSON.parse on every request body (apps/api/json-body.ts) and every upstream answer
// (application/gateway/upstream-answer.ts), so the recursive walkers that follow (zod, canonicalJson,
// JSON.stringify, BSON) never meet a value deeper than MAX_JSON_DEPTH.

/** deepest nesting of objects and arrays accepted in a request body or an upstream answer */
export const MAX_JSON_DEPTH = 64;

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
      if (c === 0x5c)
        STRUCTURE.lastIndex++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
