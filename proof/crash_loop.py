"""Crash loop: 32 connections send mixed commands with request ids while the daemon is SIGKILLed
at random moments and restarted. Afterwards every acknowledged request is in the log exactly
once, every unacknowledged one at most once (some are retried with the same request id, some
abandoned as a client that gave up would), `crmd verify` passes, and the projections the daemon
kept through every kill equal a rebuild from the log.

Prints one JSON line of figures; exits 1 when any promise is broken."""

import argparse
import json
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crmdproof import Client, Daemon, cleanup, read_log, run, temporary  # noqa: E402

AGENTS = ["a0", "a1", "a2", "a3"]
PRICE = 1_000_000


class Worker(threading.Thread):
    """One integration: its own customers, deals and invoices, one request at a time."""

    def __init__(self, index, daemon, deadline, stop, seed, abandon_rate):
        super().__init__(daemon=True)
        self.index = index
        self.daemon_ = daemon
        self.deadline = deadline
        self.stop = stop
        self.random = random.Random(seed * 1000 + index)
        self.abandon_rate = abandon_rate
        self.client = None
        self.sent = 0
        self.acked = {}       # requestId -> result
        self.refused = {}     # requestId -> error (a business answer, also a durable decision)
        self.abandoned = set()
        self.retries = 0
        self.customers = []
        self.deals = []
        self.invoices = []
        self.failure = None

    def command(self, step):
        w, k = self.index, step
        agent = AGENTS[w % len(AGENTS)]
        kind = k % 8 if self.customers else 0
        customer = self.random.choice(self.customers) if self.customers else None
        if kind == 0:
            customer = f"c-{w}-{k}"
            self.customers.append(customer)
            return "customer.register", {"customerId": customer, "name": f"مشتری {w}-{k} رضایی", "phones": [f"+98 912 {w:03d} {k:04d}"],
                                         "agentId": agent, "source": {"channel": "website"}}
        if kind == 1:
            return "call.log", {"interactionId": f"i-{w}-{k}", "customerId": customer, "direction": "outbound", "agentId": agent,
                                "durationSeconds": 60, "outcome": "interested", "text": "تماس پیگیری"}
        if kind == 2:
            return "note.add", {"interactionId": f"n-{w}-{k}", "customerId": customer, "agentId": agent, "text": "یادداشت"}
        if kind == 3:
            deal = f"d-{w}-{k}"
            self.deals.append(deal)
            return "deal.open", {"dealId": deal, "customerId": customer, "agentId": agent}
        if kind == 4 and self.deals:
            return "deal.move", {"dealId": self.deals[-1], "stage": "qualified"}
        if kind == 5:
            invoice = f"inv-{w}-{k}"
            self.invoices.append(invoice)
            return "invoice.issue", {"invoiceId": invoice, "customerId": customer, "agentId": agent,
                                     "lines": [{"productId": "p1", "quantity": 2}], "dueAt": "2030-01-01T00:00:00Z"}
        if kind == 6 and self.invoices:
            return "payment.record", {"invoiceId": self.invoices[-1], "amount": PRICE // 2, "method": "cash"}
        return "followup.schedule", {"followupId": f"f-{w}-{k}", "customerId": customer, "agentId": agent,
                                     "due": "2030-01-01T09:00:00Z", "kind": "call"}

    def connect(self):
        while not self.stop.is_set() and time.monotonic() < self.deadline + 60:
            try:
                self.client = Client(self.daemon_.socket, timeout=30)
                return True
            except OSError:
                time.sleep(0.01)
        return False

    def run(self):
        try:
            step = 0
            while not self.stop.is_set() and time.monotonic() < self.deadline:
                op, args = self.command(step)
                request_id = f"r-{self.index}-{step}"
                step += 1
                self.sent += 1
                request = {"id": step, "op": op, "args": args, "requestId": request_id}
                while True:
                    if self.client is None and not self.connect():
                        self.abandoned.add(request_id)
                        return
                    try:
                        self.client.send(request)
                        response = self.client.receive()
                    except (OSError, ConnectionError, ValueError):
                        self.client.close()
                        self.client = None
                        if self.random.random() < self.abandon_rate:
                            self.abandoned.add(request_id)
                            break
                        self.retries += 1
                        continue
                    if response.get("ok"):
                        self.acked[request_id] = response["result"]
                    elif response["error"]["code"] == "unavailable":
                        continue  # the daemon was draining; ask again
                    else:
                        self.refused[request_id] = response["error"]
                    break
        except Exception as error:  # a broken promise of the harness itself must not pass silently
            self.failure = repr(error)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=25)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--max-seconds", type=float, default=240)
    arguments = parser.parse_args()
    chance = random.Random(arguments.seed)

    data = temporary("crash")
    daemon = Daemon(data).start()
    with Client(daemon.socket) as admin:
        for agent in AGENTS:
            assert admin.call("agent.hire", {"agentId": agent, "name": f"کارمند {agent}"})["ok"]
        assert admin.call("product.define", {"productId": "p1", "name": "کالا", "unitPrice": {"amount": PRICE, "currency": "IRR"}})["ok"]

    stop = threading.Event()
    started = time.monotonic()
    deadline = started + arguments.max_seconds
    workers = [Worker(i, daemon, deadline, stop, arguments.seed, abandon_rate=0.3) for i in range(arguments.connections)]
    for worker in workers:
        worker.start()
    kills = 0
    while kills < arguments.kills and time.monotonic() < deadline - 5:
        time.sleep(chance.uniform(0.2, 1.5))
        daemon.kill()
        kills += 1
        time.sleep(chance.uniform(0.0, 0.3))
        daemon.start()
    time.sleep(1.0)  # a last stretch of normal service
    stop.set()
    for worker in workers:
        worker.join(timeout=120)
    for worker in workers:
        if worker.client:
            worker.client.close()

    # The daemon kept its projections through every kill; compare them with a rebuild.
    daemon.wait_caught_up()
    queries = [
        ("report.sales", {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z", "groupBy": ["agent"]}),
        ("funnel.report", {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}),
        ("report.receivables", {"until": "2100-01-01T00:00:00Z"}),
        ("report.workload", {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}),
    ] + [("agent.view", {"agentId": agent}) for agent in AGENTS] + [
        ("customer.get", {"customerId": customer}) for worker in workers for customer in worker.customers[:3]]

    def answers():
        with Client(daemon.socket) as client:
            return [client.call(op, args) for op, args in queries]

    live = answers()
    daemon.stop()
    run(["rebuild", "--all", "--data", data])
    daemon.start()
    rebuilt = answers()
    daemon.stop()
    projection_mismatches = sum(1 for a, b in zip(live, rebuilt) if a != b)

    verify = run(["verify", "--data", data], check=False)
    events = read_log(data)
    by_request = {}
    for event in events:
        if event.get("requestId"):
            by_request.setdefault(event["requestId"], []).append(event)

    def doubled(group):
        positions = [e["position"] for e in group]
        contiguous = positions == list(range(positions[0], positions[0] + len(positions)))
        return not contiguous or len({(e["type"], e["stream"]) for e in group}) != len(group)

    acked = {rid: result for w in workers for rid, result in w.acked.items()}
    lost = [rid for rid, result in acked.items() if rid not in by_request or by_request[rid][-1]["position"] != result["position"]]
    doubles = [rid for rid, group in by_request.items() if doubled(group)]
    abandoned = {rid for w in workers for rid in w.abandoned}
    abandoned_written = sum(1 for rid in abandoned if rid in by_request)
    unknown = [rid for rid in by_request if rid not in acked and rid not in abandoned
               and not any(rid in w.refused for w in workers)]
    failures = [w.failure for w in workers if w.failure]
    figures = {
        "part": "crash loop",
        "seed": arguments.seed,
        "kills": kills,
        "connections": arguments.connections,
        "requests": sum(w.sent for w in workers),
        "acknowledged": len(acked),
        "refused": sum(len(w.refused) for w in workers),
        "retried": sum(w.retries for w in workers),
        "abandoned": len(abandoned),
        "abandonedWritten": abandoned_written,
        "lost": len(lost),
        "doubled": len(doubles),
        "unaccounted": len(unknown),
        "events": len(events),
        "verify": verify.returncode == 0,
        "projectionMismatches": projection_mismatches,
        "seconds": round(time.monotonic() - started, 1),
        "harnessFailures": failures,
    }
    print(json.dumps(figures, ensure_ascii=False))
    ok = (not lost and not doubles and not unknown and verify.returncode == 0 and projection_mismatches == 0
          and not failures and kills >= min(arguments.kills, 20) and len(acked) > 0)
    if not ok:
        print(f"crash loop FAILED; data kept in {data}; lost {lost[:5]} doubled {doubles[:5]} unaccounted {unknown[:5]}\n"
              f"verify: {verify.stdout}{verify.stderr}", file=sys.stderr)
        for (op, args), a, b in zip(queries, live, rebuilt):
            if a != b:
                print(f"{op} {json.dumps(args)}\n live:    {json.dumps(a, ensure_ascii=False)[:400]}\n rebuilt: {json.dumps(b, ensure_ascii=False)[:400]}", file=sys.stderr)
        sys.exit(1)
    cleanup(data)


if __name__ == "__main__":
    main()
