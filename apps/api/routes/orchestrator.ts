import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { pricesAt } from "../../../domain/catalog.ts";
import type { Gateway } from "../../../application/gateway/gateway.ts";
import { GatewayError, unavailable } from "../../../application/gateway/quote.ts";
import { STRATEGIES, type Candidate } from "../../../application/gateway/router.ts";
import type { Platform } from "../../../application/platform.ts";
import { problem } from "../contract.ts";
import { instantOut, moneyOut } from "../schemas.ts";

// The catalog and the router, read-only: prices are decimal USD per million tokens.

const perMillion = (p: { promptPerMillion: number; completionPerMillion: number }) => ({
  promptPerMillion: p.promptPerMillion,
  completionPerMillion: p.completionPerMillion,
});
const Prices = z.object({ promptPerMillion: moneyOut, completionPerMillion: moneyOut });
const circuit = z.enum(["closed", "open", "half_open"]);
const Catalog = z.object({
  version: z.string(),
  currency: z.literal("USD"),
  models: z.array(
    z.object({
      id: z.string(),
      contextLength: z.int(),
      providers: z.array(
        z.object({
          provider: z.string(),
          upstreamId: z.string(),
          contextLength: z.int(),
          maxOutputTokens: z.int(),
          priority: z.int().nullable(),
          configured: z.boolean(),
          circuit,
          prices: Prices.nullable().describe("in effect now; null when the model is not priced yet"),
          priceHistory: z.array(Prices.extend({ from: instantOut })),
        }),
      ),
    }),
  ),
});
const RouteView = z.object({ provider: z.string(), upstreamId: z.string(), prices: Prices, latencyMs: z.number().nullable(), circuit });
const Skipped = z.object({
  provider: z.string(),
  reason: z.enum(["circuit_open", "not_configured", "unpriced"]),
  retryAfterMs: z.number().optional(),
});
const Route = z.object({
  model: z.string(),
  strategy: z.enum(STRATEGIES),
  route: RouteView,
  fallbacks: z.array(RouteView),
  skipped: z.array(Skipped),
});

export async function orchestratorRoutes(fastify: FastifyInstance, { platform, gateway }: { platform: Platform; gateway: Gateway }) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const tags = ["orchestrator"];
  const { catalog } = platform;

  app.get("/orchestrator/models", {
    config: { access: "public" },
    schema: {
      tags,
      summary: "Model catalog: providers, context length, current prices and their history (USD per million tokens)",
      response: { 200: Catalog },
    },
    handler: async () => {
      const now = platform.now();
      const ids = [...new Set(catalog.models.map((m) => m.id))];
      return {
        version: catalog.version,
        currency: "USD" as const,
        models: ids.map((id) => {
          const offers = catalog.models.filter((m) => m.id === id);
          return {
            id,
            contextLength: Math.max(...offers.map((m) => m.contextLength)),
            providers: offers.map((m) => {
              const current = pricesAt(catalog, m.id, now, m.provider);
              return {
                provider: m.provider,
                upstreamId: m.upstreamId,
                contextLength: m.contextLength,
                maxOutputTokens: m.maxOutputTokens,
                priority: m.priority ?? null,
                configured: gateway.providers.get(m.provider)?.configured ?? false,
                circuit: gateway.breaker(m.provider).state,
                prices: current ? perMillion(current) : null,
                priceHistory: m.prices.map((p) => ({ from: p.from, ...perMillion(p) })),
              };
            }),
          };
        }),
      };
    },
  });

  app.post("/orchestrator/route-request", {
    config: { access: "user", scope: "chat" },
    schema: {
      tags,
      summary: "The route for a model and strategy, with its fallbacks; open circuits and unconfigured providers are skipped",
      body: z.strictObject({
        model: z.string().min(1).max(200),
        strategy: z.enum(STRATEGIES).default("priority"),
        provider: z.enum(["openai", "openrouter"]).optional(),
      }),
      response: {
        200: Route,
        404: problem("the model is not offered (MODEL.NOT_FOUND)"),
        503: problem("no provider can serve the model now (PROVIDER.UNAVAILABLE)"),
      },
    },
    handler: async (request) => {
      const { model, strategy, provider } = request.body;
      const plan = gateway.plan({ model, strategy, at: platform.now(), ...(provider ? { provider } : {}) });
      if (!plan) throw new GatewayError("MODEL.NOT_FOUND", `model ${model} is not offered${provider ? ` at provider ${provider}` : ""}`);
      if (plan.candidates.length === 0) throw unavailable(plan);
      const view = (c: Candidate) => ({
        provider: c.provider,
        upstreamId: c.model.upstreamId,
        prices: perMillion(c.prices),
        latencyMs: c.latencyMs === null ? null : Math.round(c.latencyMs * 10) / 10,
        circuit: c.circuit,
      });
      const [route, ...fallbacks] = plan.candidates;
      return { model: plan.model, strategy, route: view(route!), fallbacks: fallbacks.map(view), skipped: plan.skipped };
    },
  });
}
