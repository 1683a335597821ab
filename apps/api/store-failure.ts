// Which errors are a store that cannot serve right now (a 503 with Retry-After, not a 500).
// Recognised by the codes and names the drivers and the OS give, following `cause` chains, so the
// API needs no vendor SDK: better-sqlite3 (SQLITE_*), node fs/net (E*), PostgreSQL (SQLSTATE
// classes 08, 53, 57P), MongoDB drivers (error names, OutOfDiskSpace) and EventStoreDB (Unavailable).

const DISK_FULL = new Set(["ENOSPC", "EDQUOT", "SQLITE_FULL", "53100", "OutOfDiskSpace"]);
const UNAVAILABLE_CODE =
  /^(?:SQLITE_(?:BUSY|LOCKED|IOERR|CANTOPEN|READONLY|PROTOCOL|NOTADB|CORRUPT)|E(?:IO|ROFS|CONNREFUSED|CONNRESET|TIMEDOUT|PIPE|HOSTUNREACH|NETUNREACH|AI_AGAIN|NOTFOUND)|08...|53...|57P0.)/;
const UNAVAILABLE_NAME =
  /^(?:Mongo(?:Network|NetworkTimeout|ServerSelection|NotConnected|TopologyClosed|PoolCleared|WaitQueueTimeout)Error|UnavailableError|NotLeaderError|DeadlineExceededError)$/;

export type StoreFailure = "STORE.DISK_FULL" | "STORE.UNAVAILABLE";

export function storeFailure(error: unknown): StoreFailure | null {
  for (let e = error, depth = 0; e && typeof e === "object" && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, codeName, name } = e as { code?: unknown; codeName?: unknown; name?: unknown };
    const text = typeof code === "string" ? code : "";
    if (DISK_FULL.has(text) || DISK_FULL.has(String(codeName))) return "STORE.DISK_FULL";
    if (UNAVAILABLE_CODE.test(text) || (typeof name === "string" && UNAVAILABLE_NAME.test(name))) return "STORE.UNAVAILABLE";
  }
  return null;
}
