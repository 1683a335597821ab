// One `npm start` per DATA_DIR on the embedded SQLite stores (README, "Several processes on one
// DATA_DIR"). The lock is SQLite's own: an EXCLUSIVE lock on DATA_DIR/instance.lock, held by a connection
// in exclusive locking mode for the life of the process. The kernel drops it when the process ends, however
// it ends (SIGKILL included), so there is never a stale lock to clear by hand; a second process, or a
// second connection in the same process, is refused at once. The holder's pid goes in DATA_DIR/instance.pid
// for the refusal message only (it may be stale after a crash: the lock, not that file, decides).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { ConfigError } from "../config.ts";

/** the connections holding a lock: referenced here, or the garbage collector would close them (and free the lock) */
const held = new Set<Database.Database>();

export interface InstanceLock {
  release(): void;
}

export function lockDataDir(dir: string): InstanceLock {
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(dir, "instance.lock"), { timeout: 0 });
  try {
    db.pragma("locking_mode = EXCLUSIVE");
    // after a write in exclusive locking mode, SQLite keeps the EXCLUSIVE lock until the connection closes
    db.exec(`BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (pid INTEGER); DELETE FROM holder;
      INSERT INTO holder (pid) VALUES (${process.pid}); COMMIT;`);
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code !== "SQLITE_BUSY") throw err;
    throw new ConfigError(
      `DATA_DIR ${dir} is in use by another npm start (pid ${holderPid(dir)}): the embedded SQLite stores serve one API ` +
        `process per DATA_DIR. Stop that one, give this one another DATA_DIR, or run several instances on shared ` +
        `networked stores (EVENT_STORE=postgres, READ_STORE=mongo).`,
    );
  }
  held.add(db);
  writeFileSync(join(dir, "instance.pid"), `${process.pid}\n`);
  return {
    release() {
      held.delete(db);
      db.close();
    },
  };
}

function holderPid(dir: string): string {
  try {
    return readFileSync(join(dir, "instance.pid"), "utf8").trim() || "unknown";
  } catch {
    return "unknown";
  }
}
