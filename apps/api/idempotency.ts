import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { canonicalJson } from "../../domain/hash-chain.ts";
import type { Collection, Doc, ReadStore } from "../../projections/read-store.ts";
import { HttpProblem } from "./problem.ts";

// Idempotency-Key on POST commands (IETF draft + Stripe semantics):
// - same key and body: the stored status and body are replayed byte for byte, nothing is appended;
// - same key, other body or route: 422; same key while the first is in flight: 409;
// - input rejected by validation never claims the key; a 5xx releases it so the client may retry;
// - keys are kept 24 hours (IDEMPOTENCY_RETENTION_MS): after that the same key is a new request;
// - a record belongs to the principal that made it (the API key's id, or "admin"): another key of the
//   same user with the same Idempotency-Key is another request. Authentication, scope, owner
//   (apps/api/auth.ts) and validation all run before this preHandler, so nothing is replayed to a
//   caller that may not make the request;
// - a secret in a response (route config `secret`: the field holding it) is never stored: the replay
//   carries that field as null and `secretShown: false`.
// The key also makes event ids deterministic (application/commands/command-handler.ts), so a retry that slips
// past this record is still stopped at the stream.
// Across instances: records live in the read store every instance shares, and a first use claims the
// key with insertIfAbsent (an atomic insert under the unique _id on SQLite, MongoDB and FerretDB), so of
// the instances a retry lands on exactly one runs it; the others replay it or answer 409. A takeover
// (after a 5xx, a dead instance or expiry) is a plain put that two instances may both make: both then
// run with the same scope, hence the same event ids, and the second is a duplicate at the stream.

export interface IdempotencyRecord extends Doc {
  fingerprint: string;
  /** derives the command's ids: new for every execution that is not a retry of the same one */
  scope: string;
  /** released: the first attempt ended in a 5xx; a retry runs again with the same scope (same ids) */
  state: "in_flight" | "done" | "released";
  /** when the key was first used: retention counts from here */
  claimedAt: number;
  /** when the current attempt started: an in-flight attempt older than STALE_MS is taken over */
  lockedAt: number;
  status?: number;
  contentType?: string;
  body?: string;
}

/** an in-flight claim older than this is taken over (its process died) */
const STALE_MS = 30_000;
/** published retention: a key older than this is a new request (README) */
export const IDEMPOTENCY_RETENTION_MS = 24 * 3_600_000;

/** where the records live: a collection of the read store, written by this module only */
export const idempotencyRecords = (reads: ReadStore) => reads.collection<IdempotencyRecord>("idempotency");
const KEY = /^[\x21-\x7e]{8,255}$/;

declare module "fastify" {
  interface FastifyRequest {
    idempotency: { id: string; scope: string; key: string } | null;
  }
  interface FastifyContextConfig {
    /** the response field that carries a secret shown once (never stored, never replayed) */
    secret?: string;
  }
}

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

export function registerIdempotency(app: FastifyInstance, records: Collection<IdempotencyRecord>) {
  app.decorateRequest("idempotency", null);

  app.addHook("preHandler", async (request, reply) => {
    if (request.method !== "POST") return;
    const key = request.headers["idempotency-key"];
    if (key === undefined) return;
    if (typeof key !== "string" || !KEY.test(key)) {
      throw new HttpProblem("IDEMPOTENCY.KEY_INVALID", "Idempotency-Key must be 8 to 255 visible ASCII characters");
    }
    const p = request.principal;
    const principal = p === null ? "public" : p.kind === "user" ? `key:${p.keyId}` : "admin";
    const id = sha(`${principal}\n${key}`);
    const fingerprint = sha(
      `${request.method} ${request.routeOptions.url}\n${canonicalJson(request.body ?? null)}\n${JSON.stringify(request.params)}`,
    );
    const now = Date.now();
    let claim: IdempotencyRecord = {
      _id: id,
      _position: 0,
      fingerprint,
      scope: sha(`${id}\n${now}`),
      state: "in_flight",
      claimedAt: now,
      lockedAt: now,
    };
    if (!(await records.insertIfAbsent(claim))) {
      const existing = await records.get(id);
      if (existing && now - existing.claimedAt > IDEMPOTENCY_RETENTION_MS) {
        // expired: a new request, with new ids; derived from the old record, so instances racing here
        // decide the same ids and the second is a duplicate at the stream (a put is no compare-and-set)
        claim = { ...claim, scope: sha(`${existing.scope}\n${existing.claimedAt}\nrenewed`) };
        await records.put(claim);
      } else if (existing && existing.fingerprint !== fingerprint) {
        throw new HttpProblem("IDEMPOTENCY.KEY_REUSED", "this Idempotency-Key was used with another request body or route");
      } else if (existing?.state === "done") {
        reply.header("idempotent-replayed", "true");
        return reply.code(existing.status!).type(existing.contentType!).send(existing.body);
      } else if (existing?.state === "in_flight" && now - existing.lockedAt < STALE_MS) {
        throw new HttpProblem("IDEMPOTENCY.IN_FLIGHT", "a request with this Idempotency-Key is still in flight; retry later");
      } else {
        // released after a 5xx, or its process died mid-request: run again with the same scope, so the
        // same ids are decided and a first attempt that did commit is caught as a duplicate
        claim = { ...claim, scope: existing?.scope ?? claim.scope, claimedAt: existing?.claimedAt ?? now };
        await records.put(claim);
      }
    }
    request.idempotency = { id, scope: claim.scope, key };
  });

  app.addHook("onSend", async (request, reply, payload) => {
    const claim = request.idempotency;
    if (!claim) return payload;
    request.idempotency = null;
    // a 5xx releases the key for a retry with the same ids; a streamed body (an SSE completion) cannot be
    // replayed, so it frees the key altogether
    const record = await records.get(claim.id);
    if (reply.statusCode >= 500 && record) {
      await records.put({ ...record, state: "released" });
      return payload;
    }
    if (typeof payload !== "string" && !Buffer.isBuffer(payload)) {
      await records.delete(claim.id);
      return payload;
    }
    await records.put({
      _id: claim.id,
      _position: 0,
      fingerprint: record?.fingerprint ?? "",
      scope: claim.scope,
      state: "done",
      claimedAt: record?.claimedAt ?? Date.now(),
      lockedAt: record?.lockedAt ?? Date.now(),
      status: reply.statusCode,
      contentType: String(reply.getHeader("content-type") ?? "application/json"),
      body: withoutSecret(String(payload), request.routeOptions.config.secret),
    });
    return payload;
  });
}

function withoutSecret(body: string, field: string | undefined): string {
  if (!field) return body;
  const json = JSON.parse(body) as Record<string, unknown>;
  return field in json ? JSON.stringify({ ...json, [field]: null, secretShown: false }) : body;
}
