// npm 11 can skip dependency install scripts; make sure better-sqlite3's native addon is really built.
import { createRequire } from "node:module";
import { execSync } from "node:child_process";
const require = createRequire(import.meta.url);

function works() {
  try {
    const Database = require("better-sqlite3");
    new Database(":memory:").prepare("select 1").get();
    return true;
  } catch {
    return false;
  }
}

if (!works()) {
  console.log("better-sqlite3 native addon missing: rebuilding");
  execSync("npm rebuild better-sqlite3 --foreground-scripts", { stdio: "inherit" });
  if (!works()) {
    console.error("better-sqlite3 could not be built; install python3, make and g++ and run npm install again");
    process.exit(1);
  }
}
