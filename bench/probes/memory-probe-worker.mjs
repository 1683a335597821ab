// A worker thread under the memory probe (memory-probe.mjs): answers a report of its own isolate's heap
// on the probe's BroadcastChannel (unref'd: it never keeps the thread alive), then runs the real worker.
import v8 from "node:v8";
import wt from "node:worker_threads";

const channel = new wt.BroadcastChannel("aggregator-memory-probe");
channel.unref();
channel.onmessage = ({ data }) => {
  if (!data.ask) return;
  const { heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage(); // this isolate's heap
  const { total_heap_size, used_heap_size } = v8.getHeapStatistics();
  channel.postMessage({
    answer: { file: wt.workerData.probedWorker, heapTotal, heapUsed, external, arrayBuffers, total_heap_size, used_heap_size },
  });
};
await import(wt.workerData.probedWorker);
