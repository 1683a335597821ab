import en from "zod/v4/locales/en.js";
import { config } from "zod/mini";

// zod/mini for what every program loads (the configuration, the model catalog): npm start's projector
// child, the projector and the relay load no more of zod than that. The whole of zod is ~0.7 MB of code
// and ~8 MB of RSS; only the API's routes need it. English messages, as zod's own entry point sets them.
config(en());

export * from "zod/mini";
