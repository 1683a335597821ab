import type { Config } from "../config.ts";
import { createHttpProvider } from "./http-provider.ts";
import type { ChatProvider } from "../../application/gateway/provider.ts";

/** OpenAI: OPENAI_BASE_URL + OPENAI_API_KEY. */
export const openAiProvider = (config: Pick<Config, "OPENAI_BASE_URL" | "OPENAI_API_KEY">) =>
  createHttpProvider({
    id: "openai",
    baseUrl: config.OPENAI_BASE_URL,
    ...(config.OPENAI_API_KEY ? { apiKey: config.OPENAI_API_KEY } : {}),
  });

/** OpenRouter: OPENROUTER_BASE_URL + OPENROUTER_API_KEY, with its optional attribution headers. */
export const openRouterProvider = (config: Pick<Config, "OPENROUTER_BASE_URL" | "OPENROUTER_API_KEY">) =>
  createHttpProvider({
    id: "openrouter",
    baseUrl: config.OPENROUTER_BASE_URL,
    ...(config.OPENROUTER_API_KEY ? { apiKey: config.OPENROUTER_API_KEY } : {}),
    headers: { "x-title": "AI Aggregator" },
  });

/** Every provider the catalog may name, by id. A provider without a key is listed but not configured. */
export function providersFromConfig(config: Config): Map<string, ChatProvider> {
  return new Map([openAiProvider(config), openRouterProvider(config)].map((p) => [p.id, p]));
}
