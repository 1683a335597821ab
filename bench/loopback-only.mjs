// Preloaded into a peer gateway that has no host option (Portkey's start-server.js listens on every
// interface): a listen() that names no host is bound to 127.0.0.1, so the bench opens no port to the network.
import net from "node:net";

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "number" && typeof args[1] !== "string") args.splice(1, 0, "127.0.0.1");
  else if (args[0] && typeof args[0] === "object" && args[0].host === undefined && args[0].path === undefined)
    args[0] = { ...args[0], host: "127.0.0.1" };
  return listen.apply(this, args);
};
