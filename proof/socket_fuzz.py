"""Socket fuzzer: hostile clients send random bytes, mutated and truncated requests, deeply nested
JSON, huge numbers, invalid UTF-8, wrong shapes, 10 MiB lines, pipelines they never read and
slow-drip writes, while well-behaved clients keep registering customers and logging calls.

Every answer a hostile client gets must be one well-formed response line with a known error code
(or a success, for a mutation that happens to be valid); the daemon must stay up; the well-behaved
clients must see every request acknowledged and find every acknowledged one in the log; `crmd
verify` must pass. Bounded in time. Prints one JSON line of figures; exits 1 on any finding."""

import argparse
import json
import os
import random
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crmdproof import Client, Daemon, cleanup, read_log, run, temporary  # noqa: E402

CODES = {"bad_request", "unknown_op", "invalid_args", "not_found", "conflict", "rule_violation", "forbidden", "unavailable"}

VALID = [
    {"id": 1, "op": "customer.register", "args": {"name": "نگار احمدی", "phones": ["0912 345 6789"], "agentId": "a0",
                                                "source": {"channel": "instagram", "campaign": "nowruz"}}},
    {"id": 2, "op": "call.log", "args": {"customerId": "c0", "direction": "inbound", "durationSeconds": 30, "text": "سلام"}},
    {"id": 3, "op": "invoice.issue", "args": {"customerId": "c0", "lines": [{"productId": "p1", "quantity": 2}], "dueAt": "2030-01-01T00:00:00Z"}},
    {"id": 4, "op": "customer.find", "args": {"text": "احمدی"}},
    {"id": 5, "op": "report.sales", "args": {"from": "2020-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z", "groupBy": ["month"], "calendar": "persian"}},
    {"id": 6, "op": "customer.edit", "args": {"customerId": "c0", "tags": ["VIP"]}, "expectedVersion": 1, "requestId": "x"},
    {"id": 7, "op": "log.read", "args": {"from": 1, "limit": 3}},
]


def valid_line(rng):
    return json.dumps(rng.choice(VALID), ensure_ascii=False).encode()


def nested(rng, depth):
    kind = rng.choice(["array", "object", "args"])
    if kind == "array":
        return b"[" * depth + b"]" * depth
    if kind == "object":
        return b'{"a":' * depth + b"1" + b"}" * depth
    return b'{"id":1,"op":"customer.register","args":{"name":' + b"[" * depth + b"]" * depth + b"}}"


GENERATORS = {
    "random bytes": lambda rng: bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 2048))) + b"\n",
    "mutated request": lambda rng: mutate(rng, valid_line(rng)) + b"\n",
    "truncated request": lambda rng: (lambda line: line[:rng.randint(0, len(line) - 1)])(valid_line(rng)) + b"\n",
    "deep nesting": lambda rng: nested(rng, rng.choice([65, 1000, 100_000, 400_000])) + b"\n",
    "huge numbers": lambda rng: rng.choice([
        b'{"id":1e999,"op":"log.read","args":{"from":1,"limit":1}}',
        b'{"id":1,"op":"payment.record","args":{"invoiceId":"i","amount":123456789012345678901234567890,"method":"cash"}}',
        b'{"id":-0.0,"op":"log.read","args":{"from":-9223372036854775809,"limit":1e-999}}',
        b'{"id":1,"op":"log.read","args":{"from":NaN,"limit":Infinity}}',
        b'{"id":1,"op":"customer.edit","args":{"customerId":"c0"},"expectedVersion":18446744073709551616}',
        b'{"id":9223372036854775807,"op":"log.read","args":{"from":9223372036854775807,"limit":9223372036854775807}}',
    ]) + b"\n",
    "invalid utf-8": lambda rng: rng.choice([
        b'{"id":1,"op":"customer.register","args":{"name":"\xff\xfe"}}',
        b'{"id":1,"op":"customer.register","args":{"name":"\xc0\xaf overlong"}}',
        b'{"id":1,"op":"customer.register","args":{"name":"\\ud800 lone surrogate"}}',
        b'{"id":"\xed\xa0\x80","op":"log.read","args":{}}',
        b'{"id":1,"op":"note.add\x00","args":{"customerId":"c0","text":"\xe2\x82"}}',
    ]) + b"\n",
    "wrong shapes": lambda rng: rng.choice([
        b"[]", b'"a string"', b"null", b"42", b"{}", b'{"op":5}', b'{"id":{},"op":"customer.get","args":{"customerId":"c0"}}',
        b'{"id":1,"op":"customer.register","args":[]}', b'{"id":1,"op":"no.such.op","args":{}}', b'{"id":1,"op":"customer.get"}',
        b'{"id":1,"op":"customer.get","args":{"customerId":"c0"},"as":{"x":1}}', b'{"id":1,"op":"customer.get","args":{"customerId":"c0"},"as":"nobody"}',
        b'{"id":1,"op":"customer.edit","args":{"customerId":"c0"},"expectedVersion":-1}',
        b'{"id":1,"op":"customer.register","args":{"name":"x"},"requestId":"' + b"r" * 20000 + b'"}',
        b'{"id":1,"id":2,"op":"log.read","args":{"from":1,"limit":1}}', b"{\"id\":1,\"op\":\"log.read\",\"args\":{\"from\":1,\"limit\":1}} trailing",
        b"\r", b"   ", b"\t{}\t",
    ]) + b"\n",
}


def mutate(rng, line):
    data = bytearray(line)
    for _ in range(rng.randint(1, 8)):
        action = rng.randrange(3)
        position = rng.randrange(len(data)) if data else 0
        if action == 0 and data:
            data[position] = rng.getrandbits(8)
        elif action == 1:
            data.insert(position, rng.choice(b'{}[]",:\\0123456789eE-+.\x00\xff'))
        elif data:
            del data[position]
    return bytes(data).replace(b"\n", b" ")


class Findings:
    def __init__(self):
        self.lock = threading.Lock()
        self.items = []

    def add(self, text):
        with self.lock:
            if len(self.items) < 50:
                self.items.append(text)


def check_answers(raw, findings, what):
    """Each line the daemon wrote must be a response object with a known code."""
    for line in raw.split(b"\n"):
        if not line:
            continue
        try:
            answer = json.loads(line)
        except ValueError:
            findings.add(f"{what}: an answer that is not JSON: {line[:120]!r}")
            continue
        if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
            findings.add(f"{what}: not a response: {line[:120]!r}")
        elif not answer["ok"] and answer.get("error", {}).get("code") not in CODES:
            findings.add(f"{what}: unexpected error {line[:200]!r}")


def hostile(index, path, deadline, counts, findings, seed, kinds):
    rng = random.Random(seed * 7919 + index)
    names = [name for name in GENERATORS if not kinds or name in kinds]
    while time.monotonic() < deadline:
        roll = rng.random() if not kinds else 1.0
        if kinds and set(kinds) & {"10 MiB line", "slow drip", "unread pipeline"}:
            roll = {"10 MiB line": 0.005, "slow drip": 0.015, "unread pipeline": 0.025}[rng.choice([k for k in kinds if k in ("10 MiB line", "slow drip", "unread pipeline")])]
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(20)
            sock.connect(path)
        except OSError as error:
            findings.add(f"connect failed: {error}")
            time.sleep(0.1)
            continue
        try:
            if roll < 0.01:
                what = "10 MiB line"
                payload = b'{"id":1,"op":"note.add","args":{"text":"' + b"x" * (10 << 20) + b'"}}' + (b"\n" if rng.random() < 0.5 else b"")
                try:
                    sock.sendall(payload)
                except OSError:
                    pass  # the daemon may close a connection whose line is over the limit
            elif roll < 0.02:
                what = "slow drip"
                line = valid_line(rng) + b"\n"
                for i in range(len(line)):
                    sock.sendall(line[i:i + 1])
                    time.sleep(min(0.02, 3.0 / len(line)))
            elif roll < 0.03:
                what = "unread pipeline"
                sock.sendall((valid_line(rng) + b"\n") * 2000)
                sock.close()
                counts[what] = counts.get(what, 0) + 1
                continue
            else:
                what = rng.choice(names)
                lines = rng.randint(1, 20)
                batch = b"".join(GENERATORS[what](rng) for _ in range(lines))
                counts["inputs"] = counts.get("inputs", 0) + lines
                sock.sendall(batch)
            counts[what] = counts.get(what, 0) + 1
            sock.shutdown(socket.SHUT_WR)
            raw = b""
            while True:
                chunk = sock.recv(1 << 16)
                if not chunk:
                    break
                raw += chunk
            check_answers(raw, findings, what)
        except socket.timeout:
            findings.add(f"{what}: no answer within 20 s")
        except OSError:
            pass  # a reset after a refused line is the daemon protecting itself
        finally:
            sock.close()


def well_behaved(index, path, deadline, acked, findings, latencies):
    try:
        serve_well(index, path, deadline, acked, findings, latencies)
    except Exception as error:
        findings.add(f"a well-behaved client failed: {error!r}")


def serve_well(index, path, deadline, acked, findings, latencies):
    n = 0
    with Client(path) as client:
        while time.monotonic() < deadline:
            began = time.monotonic()
            request_id = f"good-{index}-{n}"
            customer = f"good-{index}-{n // 2}"
            if n % 2 == 0:
                answer = client.call("customer.register", {"customerId": customer, "name": "مشتری خوش‌رفتار", "agentId": "a0"}, requestId=request_id)
            else:
                answer = client.call("call.log", {"customerId": customer, "direction": "inbound", "text": "تماس", "agentId": "a0"}, requestId=request_id)
            n += 1
            latencies.append(time.monotonic() - began)
            if not answer.get("ok"):
                findings.add(f"a well-behaved request failed: {json.dumps(answer, ensure_ascii=False)[:200]}")
            else:
                acked[request_id] = answer["result"]["position"]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--hostile", type=int, default=6)
    parser.add_argument("--well-behaved", type=int, default=4)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--kinds", nargs="*", default=[], help="only these kinds of hostile input")
    arguments = parser.parse_args()

    data = temporary("fuzz")
    daemon = Daemon(data).start()
    with Client(daemon.socket) as admin:
        assert admin.call("agent.hire", {"agentId": "a0", "name": "آرش"})["ok"]
        assert admin.call("product.define", {"productId": "p1", "name": "کالا", "unitPrice": {"amount": 1000, "currency": "IRR"}})["ok"]
        assert admin.call("customer.register", {"customerId": "c0", "name": "مشتری", "agentId": "a0"})["ok"]
    findings = Findings()
    counts = {}
    acked = {}
    deadline = time.monotonic() + arguments.seconds
    threads = [threading.Thread(target=hostile, args=(i, daemon.socket, deadline, counts, findings, arguments.seed, arguments.kinds)) for i in range(arguments.hostile)]
    latencies = []
    threads += [threading.Thread(target=well_behaved, args=(i, daemon.socket, deadline, acked, findings, latencies)) for i in range(arguments.well_behaved)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=arguments.seconds + 120)
    crashed = daemon.process.poll() is not None
    if crashed:
        findings.add(f"the daemon died with status {daemon.process.returncode}")
    else:
        daemon.stop()
    logged = {e.get("requestId"): e["position"] for e in read_log(data) if e.get("requestId", "").startswith("good-")}
    lost = [rid for rid, position in acked.items() if logged.get(rid) != position]
    if lost:
        findings.add(f"acknowledged requests missing from the log: {lost[:5]}")
    verify = run(["verify", "--data", data], check=False)
    if verify.returncode != 0:
        findings.add(f"verify: {verify.stdout}{verify.stderr}")
    figures = {"part": "socket fuzz", "seed": arguments.seed, "seconds": arguments.seconds,
               "hostileInputs": counts.pop("inputs", 0) + sum(counts.get(k, 0) for k in ("10 MiB line", "slow drip")) + 2000 * counts.get("unread pipeline", 0),
               "hostileConnections": sum(counts.values()), "byKind": counts, "wellBehavedAcknowledged": len(acked),
               "wellBehavedMaxSeconds": round(max(latencies, default=0), 3),
               "lost": len(lost), "daemonCrashes": int(crashed), "findings": len(findings.items), "details": findings.items[:10]}
    print(json.dumps(figures, ensure_ascii=False))
    if findings.items:
        print(f"socket fuzz FAILED; data kept in {data}", file=sys.stderr)
        sys.exit(1)
    cleanup(data)


if __name__ == "__main__":
    main()
