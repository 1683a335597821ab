import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { pricesAt } from "../../../domain/catalog.ts";
import { formatMoney } from "../../../domain/money.ts";
import type { Gateway } from "../../gateway/gateway.ts";
import { GatewayError, unavailable } from "../../gateway/quote.ts";
import { STRATEGIES, type Candidate } from "../../gateway/router.ts";
import type { Platform } from "../../shared/platform.ts";
import { toProblem } from "./proxy.ts";

// The catalog and the router, read-only: prices are decimal USD per million tokens.

const perMillion = (p: { promptPerMillion: number; completionPerMillion: number }) => ({
  promptPerMillion: formatMoney(p.promptPerMillion),
  completionPerMillion: formatMoney(p.completionPerMillion),
});

export async function orchestratorRoutes(fastify: FastifyInstance, { platform, gateway }: { platform: Platform; gateway: Gateway }) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const tags = ["orchestrator"];
  const { catalog } = platform;

  app.get("/orchestrator/models", {
    config: { access: "public" },
    schema: { tags, summary: "Model catalog: providers, context length, current prices and their history (USD per million tokens)" },
    handler: async () => {
      const now = platform.now();
      const ids = [...new Set(catalog.models.map((m) => m.id))];
      return {
        version: catalog.version,
        currency: "USD",
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
    },
    handler: async (request, reply) => {
      const { model, strategy, provider } = request.body;
      const plan = gateway.plan({ model, strategy, at: platform.now(), ...(provider ? { provider } : {}) });
      try {
        if (!plan) throw new GatewayError(404, "MODEL.NOT_FOUND", `model ${model} is not offered${provider ? ` at provider ${provider}` : ""}`);
        if (plan.candidates.length === 0) throw unavailable(plan);
      } catch (error) {
        throw toProblem(error, reply);
      }
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
