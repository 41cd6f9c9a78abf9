# workerd configuration of the Workers example: one worker serving HTTP.
# Run: npm run build && node examples/workers/build.js
#      LATCHKEY_MODE=stateful SESSION_SECRET=$(openssl rand -base64 32) \
#        workerd serve examples/workers/workerd.capnp --socket-addr http=127.0.0.1:8787
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "main") ],
);

const worker :Workerd.Worker = (
  modules = [ (name = "worker", esModule = embed "dist/worker.js") ],
  compatibilityDate = "2026-11-01",
  # latchkey needs no Node.js compatibility: it runs on Web Crypto and the Web platform alone.
  # nodejs_compat is on by default from compatibility date 2026-08-04; these flags turn it off.
  compatibilityFlags = ["no_nodejs_compat", "no_nodejs_compat_v2"],
  bindings = [
    (name = "LATCHKEY_MODE", fromEnvironment = "LATCHKEY_MODE"),
    (name = "SESSION_SECRET", fromEnvironment = "SESSION_SECRET"),
  ],
);
