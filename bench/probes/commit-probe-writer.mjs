// The SQLite event store's writer under the bench probe (commit-probe.mjs): when each commit message was
// taken off the port (by the listener or drained with receiveMessageOnPort) and when the transaction's
// reply was posted (committed and fsynced) travel back on the reply as `__probe`. Then the real writer runs.
import { syncBuiltinESMExports } from "node:module";
import wt from "node:worker_threads";

const now = () => Number(process.hrtime.bigint()) / 1e6;
const port = wt.parentPort;
const taken = [];

const receive = wt.receiveMessageOnPort;
wt.receiveMessageOnPort = (p) => {
  const r = receive(p);
  if (r?.message?.type === "commit") taken.push(now());
  return r;
};
syncBuiltinESMExports();

const on = port.on.bind(port);
port.on = (event, listener) =>
  on(event, event !== "message" ? listener : (message) => (message?.type === "commit" && taken.push(now()), listener(message)));
const post = port.postMessage.bind(port);
port.postMessage = (message, transfer) => post({ ...message, __probe: { taken: taken.splice(0), done: now() } }, transfer);

await import(wt.workerData.probedWriter);
