import type { FastifyRequest } from "fastify";
import type { CommandContext } from "../../application/commands/command-handler.ts";
import type { Platform } from "../../application/platform.ts";
import { actorOf } from "./auth.ts";
import { HttpProblem } from "./problem.ts";

/** the request's trace context for a command context (its server span's traceparent); nothing when tracing is off */
export function traceOf(request: FastifyRequest): Pick<CommandContext, "traceparent"> {
  const traceparent = request.trace?.traceparent;
  return traceparent ? { traceparent } : {};
}

/** the command context of an HTTP request: who, which request, which Idempotency-Key, when, which trace */
export function commandContext(request: FastifyRequest, platform: Platform): CommandContext {
  const idem = request.idempotency;
  return {
    actor: actorOf(request),
    correlationId: request.id,
    now: platform.now(),
    ...(idem ? { idempotencyScope: idem.scope, idempotencyKey: idem.key } : {}),
    ...traceOf(request),
  };
}

/**
 * `minPosition`: wait briefly until the read models have applied it; 503 when they do not in time.
 * A position beyond the event store's head was never returned by any command (positions come from
 * durable appends), so it is refused at once instead of parking the request until the timeout.
 */
export async function awaitPosition(platform: Platform, minPosition: number | undefined) {
  if (minPosition === undefined || minPosition <= platform.projector.position()) return;
  const head = await platform.events.headPosition();
  if (minPosition > head) {
    throw new HttpProblem("READ_MODEL.POSITION_AHEAD", `minPosition ${minPosition} is beyond the event store's head position ${head}`, {
      headPosition: head,
    });
  }
  if (!(await platform.projector.waitFor(minPosition, 5000))) {
    throw new HttpProblem("READ_MODEL.LAGGING", `read models have not reached position ${minPosition} yet; retry`);
  }
}
