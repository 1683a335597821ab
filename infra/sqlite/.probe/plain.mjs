import { parentPort } from "node:worker_threads";
import Database from "better-sqlite3";
const db = new Database(":memory:");
parentPort.postMessage("plain ok");
