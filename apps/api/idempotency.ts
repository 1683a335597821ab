import { createHash } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { canonicalJson } from "../../domain/hash-chain.ts";
import type { Collection, Doc } from "../../projections/read-store.ts";
import { HttpProblem } from "./problem.ts";

// Idempotency-Key on POST commands (IETF draft + Stripe semantics):
// - same key and body: the stored status and body are replayed byte for byte, nothing is appended;
// - same key, other body or route: 422; same key while the first is in flight: 409;
// - input rejected by validation never claims the key; a 5xx releases it so the client may retry.
// The key also makes event ids deterministic (apps/shared/handle-command.ts), so a retry that slips
// past this record is still stopped at the stream.

export interface IdempotencyRecord extends Doc {
  fingerprint: string;
  state: "in_flight" | "done";
  claimedAt: number;
  status?: number;
  contentType?: string;
  body?: string;
}

/** an in-flight claim older than this is taken over (its process died) */
const STALE_MS = 30_000;
const KEY = /^[\x21-\x7e]{8,255}$/;

declare module "fastify" {
  interface FastifyRequest {
    idempotency: { id: string; scope: string; key: string } | null;
  }
}

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

export function idempotencyScopeOf(request: FastifyRequest) {
  return request.idempotency?.scope;
}

export function registerIdempotency(app: FastifyInstance, records: Collection<IdempotencyRecord>) {
  app.decorateRequest("idempotency", null);

  app.addHook("preHandler", async (request, reply) => {
    if (request.method !== "POST") return;
    const key = request.headers["idempotency-key"];
    if (key === undefined) return;
    if (typeof key !== "string" || !KEY.test(key)) {
      throw new HttpProblem(400, "IDEMPOTENCY.KEY_INVALID", "Idempotency-Key must be 8 to 255 visible ASCII characters");
    }
    const p = request.principal;
    const owner = p?.kind === "user" ? `user:${p.userId}` : "admin";
    const id = sha(`${owner}\n${key}`);
    const fingerprint = sha(`${request.method} ${request.routeOptions.url}\n${canonicalJson(request.body ?? null)}\n${JSON.stringify(request.params)}`);
    const claim: IdempotencyRecord = { _id: id, _position: 0, fingerprint, state: "in_flight", claimedAt: Date.now() };
    if (!(await records.insertIfAbsent(claim))) {
      const existing = await records.get(id);
      if (existing && existing.fingerprint !== fingerprint) {
        throw new HttpProblem(422, "IDEMPOTENCY.KEY_REUSED", "this Idempotency-Key was used with another request body or route");
      }
      if (existing?.state === "done") {
        reply.header("idempotent-replayed", "true");
        return reply.code(existing.status!).type(existing.contentType!).send(existing.body);
      }
      if (existing && Date.now() - existing.claimedAt < STALE_MS) {
        throw new HttpProblem(409, "IDEMPOTENCY.IN_FLIGHT", "a request with this Idempotency-Key is still in flight; retry later");
      }
      await records.put(claim);
    }
    request.idempotency = { id, scope: id, key };
  });

  app.addHook("onSend", async (request, reply, payload) => {
    const claim = request.idempotency;
    if (!claim) return payload;
    request.idempotency = null;
    // a 5xx releases the key; so does a streamed body (an SSE completion), which cannot be replayed
    if (reply.statusCode >= 500 || (typeof payload !== "string" && !Buffer.isBuffer(payload))) {
      await records.delete(claim.id);
      return payload;
    }
    const record = await records.get(claim.id);
    await records.put({
      _id: claim.id,
      _position: 0,
      fingerprint: record?.fingerprint ?? "",
      state: "done",
      claimedAt: record?.claimedAt ?? Date.now(),
      status: reply.statusCode,
      contentType: String(reply.getHeader("content-type") ?? "application/json"),
      body: typeof payload === "string" ? payload : String(payload),
    });
    return payload;
  });
}
