// twilio-node sending the benchmark's message to the simulator: the peer of the sidecar in
// scripts/bench.sh. Usage: node send.cjs PEERS_DIR; the simulator and the counts come from the
// environment (BENCH_API_URL, BENCH_ACCOUNT_SID, BENCH_AUTH_TOKEN, BENCH_COUNT,
// BENCH_CONCURRENCY). Prints {"p50_us", "p99_us", "rps"} as one JSON line.
const path = require("path");
const twilio = require(path.resolve(process.argv[2], "node", "node_modules", "twilio"));

const env = process.env;
const count = Number(env.BENCH_COUNT);
const concurrency = Number(env.BENCH_CONCURRENCY);

function client() {
  const c = twilio(env.BENCH_ACCOUNT_SID, env.BENCH_AUTH_TOKEN);
  c.api.baseUrl = env.BENCH_API_URL;
  return c;
}

async function send(c) {
  const message = await c.messages.create({
    to: "+14155550123",
    from: "+15559876543",
    body: "Benchmark message",
  });
  if (!message.sid.startsWith("SM")) throw new Error(`unexpected ${message.sid}`);
}

async function worker(c, n, times) {
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint();
    await send(c);
    times.push(Number(process.hrtime.bigint() - start) / 1000);
  }
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

(async () => {
  const clients = Array.from({ length: concurrency }, client);
  for (const c of clients) for (let i = 0; i < 10; i++) await send(c);
  const times = [];
  const start = process.hrtime.bigint();
  await Promise.all(clients.map((c) => worker(c, Math.ceil(count / concurrency), times)));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({
    p50_us: percentile(times, 50),
    p99_us: percentile(times, 99),
    rps: times.length / seconds,
  }));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
