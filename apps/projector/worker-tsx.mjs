// npm start's worker thread when the program runs from its TypeScript sources (npm run dev, the tests):
// Node 20 applies no module loader hooks in worker threads (tsx's --import stays in the main thread), so
// the thread loads worker.ts through tsx's own API. Compiled, supervisor.ts starts dist/projector-worker.js.
import { tsImport } from "tsx/esm/api";

await tsImport("./worker.ts", import.meta.url);
