import { describe, expect, it } from "vitest";
import { isUuid } from "../../domain/ids.ts";
import { uuidV7 } from "./handle-command.ts";

describe("uuidV7", () => {
  it("is a valid RFC 9562 version-7 UUID whose first 48 bits are the time", () => {
    const ms = Date.parse("2026-11-27T12:00:00Z");
    const id = uuidV7(ms);
    expect(isUuid(id)).toBe(true);
    expect(id[14]).toBe("7");
    expect("89ab").toContain(id[19]);
    expect(parseInt(id.replace(/-/g, "").slice(0, 12), 16)).toBe(ms);
  });

  it("sorts by time and is unique", () => {
    const ids = Array.from({ length: 1000 }, (_, i) => uuidV7(1_700_000_000_000 + i));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(Array.from({ length: 1000 }, () => uuidV7(1)))).toHaveProperty("size", 1000);
  });
});
