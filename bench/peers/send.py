"""twilio-python sending the benchmark's message to the simulator: the peer of the sidecar in
scripts/bench.sh. Run with PYTHONPATH=PEERS_DIR/python; the simulator and the counts come from
the environment (BENCH_API_URL, BENCH_ACCOUNT_SID, BENCH_AUTH_TOKEN, BENCH_COUNT,
BENCH_CONCURRENCY). Prints {"p50_us", "p99_us", "rps"} as one JSON line."""

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

from twilio.rest import Client

ENV = os.environ
COUNT = int(ENV["BENCH_COUNT"])
CONCURRENCY = int(ENV["BENCH_CONCURRENCY"])


def client():
    c = Client(ENV["BENCH_ACCOUNT_SID"], ENV["BENCH_AUTH_TOKEN"])
    c.api.base_url = ENV["BENCH_API_URL"]
    return c


def send(c):
    message = c.messages.create(to="+14155550123", from_="+15559876543", body="Benchmark message")
    if not message.sid.startswith("SM"):
        raise RuntimeError(f"unexpected {message.sid}")


def worker(c, n):
    times = []
    for _ in range(n):
        start = time.perf_counter()
        send(c)
        times.append((time.perf_counter() - start) * 1e6)
    return times


def main():
    clients = [client() for _ in range(CONCURRENCY)]
    for c in clients:
        for _ in range(10):
            send(c)
    per_worker = -(-COUNT // CONCURRENCY)
    start = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        times = [t for ts in pool.map(lambda c: worker(c, per_worker), clients) for t in ts]
    seconds = time.perf_counter() - start
    times.sort()
    pick = lambda p: times[min(len(times) - 1, len(times) * p // 100)]
    print(json.dumps({"p50_us": pick(50), "p99_us": pick(99), "rps": len(times) / seconds}))


main()
