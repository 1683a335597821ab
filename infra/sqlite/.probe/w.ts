import { parentPort, threadId, isMainThread } from "node:worker_threads";
const x: number = 1;
console.log("w.ts running in thread", threadId, isMainThread, !!parentPort);
parentPort?.postMessage("ts worker ok " + x);
