"""Security: file modes of the data directory, no personal data in the daemon's log or in error
messages, and every role of docs/access.md tried against every op it must not use, each from its own
OS uid (SO_PEERCRED is the only identity the daemon trusts).

Needs root (clients run under other uids). Prints one JSON line; exits 1 on any finding."""

import json
import os
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crmdproof import ROOT, Client, Daemon, cleanup, temporary  # noqa: E402

UIDS = {"agent": 52001, "manager": 52002, "auditor": 52003, "gateway": 52004, "stranger": 52005}
COMMANDS = sorted(f[:-5] for f in os.listdir(os.path.join(ROOT, "schemas", "commands")))
QUERIES = sorted(f[:-5] for f in os.listdir(os.path.join(ROOT, "schemas", "queries")))
# Ops of the whole company, not of one agent's customers.
COMPANY_COMMANDS = {"agent.hire", "agent.leave", "branch.open", "product.define", "product.reprice", "product.retire",
                    "pipeline.define", "target.set"}
COMPANY_QUERIES = {"log.read", "log.subscribe", "projections.rebuild", "funnel.report"} | {q for q in QUERIES if q.startswith("report.")}

# Personal data the log must keep sealed and the daemon must never print.
NAME, PHONE, EMAIL, NOTE = "زرین‌تاج پرویزی‌نژاد", "+98 912 777 6543", "zarrin.secret@example.com", "بیماری قلبی دارد"


def as_uid(uid, socket_path, requests):
    """Sends REQUESTS from a child process running as UID; returns the responses."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            os.setgroups([])
            os.setgid(0)  # the 0660 socket admits group root
            os.setuid(uid)
            answers = []
            with Client(socket_path) as client:
                for request in requests:
                    client.send(request)
                    answers.append(client.receive())
            os.write(write, json.dumps(answers).encode())
        finally:
            os._exit(0)
    os.close(write)
    chunks = []
    while True:
        chunk = os.read(read, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    return json.loads(b"".join(chunks) or b"[]")


def main():
    if os.getuid() != 0:
        print(json.dumps({"part": "security", "skipped": "needs root"}))
        return
    data = temporary("security")
    sockets = temporary("security-socket")
    os.chmod(sockets, 0o755)
    socket_path = os.path.join(sockets, "crmd.sock")
    findings = []
    with open(os.path.join(data, "access.json"), "w") as f:
        json.dump({"users": [{"uid": UIDS["agent"], "principal": "maryam", "role": "agent"},
                             {"uid": UIDS["manager"], "principal": "sara", "role": "manager"},
                             {"uid": UIDS["auditor"], "principal": "audit", "role": "auditor"},
                             {"uid": UIDS["gateway"], "principal": "pbx", "role": "gateway"}]}, f)
    daemon = Daemon(data, ["--socket", socket_path])
    daemon.socket = socket_path
    daemon.start()
    answers = []
    with Client(socket_path) as admin:
        def call(op, args, **fields):
            answer = admin.call(op, args, **fields)
            if not answer.get("ok") and os.environ.get("PROOF_DEBUG"): print(op, answer, file=sys.stderr)
            answers.append(answer)
            return answer
        for agent, role in [("maryam", "agent"), ("ali", "agent"), ("sara", "manager")]:
            assert call("agent.hire", {"agentId": agent, "name": f"{agent} کارمند", "role": role})["ok"]
        assert call("product.define", {"productId": "p1", "name": "کالا", "unitPrice": {"amount": 1000, "currency": "IRR"}})["ok"]
        assert call("customer.register", {"customerId": "mine", "name": "مشتری مریم", "agentId": "maryam"})["ok"]
        assert call("customer.register", {"customerId": "theirs", "name": NAME, "phones": [PHONE], "emails": [EMAIL],
                                          "address": "تهران، کوچه‌ی محرمانه", "agentId": "ali", "kind": "organisation"})["ok"]
        assert call("note.add", {"customerId": "theirs", "text": NOTE, "agentId": "ali"})["ok"]
        assert call("customer.contact.add", {"customerId": "theirs", "contactId": "buyer", "name": "خریدار"})["ok"]
        assert call("deal.open", {"dealId": "d-theirs", "customerId": "theirs", "agentId": "ali"})["ok"]
        assert call("invoice.issue", {"invoiceId": "inv-theirs", "customerId": "theirs", "agentId": "ali",
                                      "lines": [{"productId": "p1", "quantity": 1}], "dueAt": "2030-01-01T00:00:00Z"})["ok"]
        assert call("followup.schedule", {"followupId": "f-theirs", "customerId": "theirs", "agentId": "ali",
                                          "due": "2030-01-01T00:00:00Z", "kind": "call"})["ok"]
        assert call("quote.give", {"quoteId": "q-theirs", "customerId": "theirs", "agentId": "ali", "channel": "phone",
                                   "lines": [{"productId": "p1", "quantity": 1}]})["ok"]
        # Bad requests that carry personal data: the answers must not repeat it.
        call("customer.register", {"customerId": "theirs", "name": NAME, "phones": [PHONE]})
        call("customer.register", {"name": NAME, "phones": [PHONE + " ext. abc"], "emails": [EMAIL + "@@"]})
        call("customer.edit", {"customerId": "nobody", "name": NAME, "phones": [PHONE]})
        call("note.add", {"customerId": "theirs", "text": NOTE * 3000})
        call("customer.find", {"phone": PHONE + "x" * 100})
        call("customer.forget", {"customerId": "mine"})
        call("note.add", {"customerId": "mine", "text": NOTE})

    # Who may not do what, each from its own uid.
    own = {"customerId": "theirs"}
    other_agents_things = [
        ("customer.get", own), ("customer.history", own), ("customer.edit", {"customerId": "theirs", "tags": ["x"]}),
        ("customer.assign", {"customerId": "theirs", "agentId": "maryam"}),
        ("customer.contact.add", {"customerId": "theirs", "name": "کسی"}),
        ("customer.contact.remove", {"customerId": "theirs", "contactId": "buyer"}),
        ("customer.register", {"name": "مشتری تازه", "agentId": "ali"}),
        ("customer.competitor.note", {"customerId": "theirs", "competitor": "رقیب"}),
        ("customer.forget", own),
        ("call.log", {"customerId": "theirs", "agentId": "maryam", "direction": "outbound"}), ("meeting.log", {"customerId": "theirs"}),
        ("email.log", {"customerId": "theirs", "direction": "inbound", "subject": "s"}), ("sms.log", {"customerId": "theirs", "text": "x"}),
        ("note.add", {"customerId": "theirs", "text": "x"}),
        ("negotiation.log", {"customerId": "theirs", "subject": "s", "outcome": "o"}),
        ("quote.give", {"customerId": "theirs", "channel": "phone", "lines": [{"productId": "p1", "quantity": 1}]}),
        ("proforma.issue", {"customerId": "theirs", "lines": [{"productId": "p1", "quantity": 1}]}),
        ("invoice.issue", {"customerId": "theirs", "lines": [{"productId": "p1", "quantity": 1}], "dueAt": "2030-01-01T00:00:00Z"}),
        ("invoice.void", {"invoiceId": "inv-theirs", "reason": "x"}),
        ("payment.record", {"invoiceId": "inv-theirs", "amount": 1, "method": "cash"}),
        ("deal.open", {"customerId": "theirs"}), ("deal.move", {"dealId": "d-theirs", "stage": "qualified"}),
        ("deal.win", {"dealId": "d-theirs"}), ("deal.lose", {"dealId": "d-theirs", "reason": "price"}),
        ("followup.schedule", {"customerId": "theirs", "due": "2030-01-01T00:00:00Z", "kind": "call"}),
        ("followup.complete", {"followupId": "f-theirs"}), ("followup.defer", {"followupId": "f-theirs", "to": "2031-01-01T00:00:00Z"}),
        ("followup.cancel", {"followupId": "f-theirs"}),
        ("contract.support", {"customerId": "theirs", "expiresOn": "2030-01-01"}),
        ("agent.agenda", {"agentId": "ali"}), ("agent.view", {"agentId": "ali"}),
    ]
    missing_ops = {op for op, _ in other_agents_things if op not in COMMANDS + QUERIES}
    if missing_ops:
        findings.append(f"ops the proof names but the daemon does not have: {sorted(missing_ops)}")
    uncovered = set(COMMANDS) - COMPANY_COMMANDS - {op for op, _ in other_agents_things}
    if uncovered:
        findings.append(f"customer-scoped commands with no cross-agent case in the proof: {sorted(uncovered)}")

    def request(op, args, **fields):
        return dict({"id": op, "op": op, "args": args}, **fields)

    tried = 0

    def expect(role, uid, cases, want_forbidden=True):
        nonlocal tried
        responses = as_uid(uid, socket_path, [request(op, args, **fields) for op, args, fields in cases])
        if len(responses) != len(cases):
            findings.append(f"{role}: {len(responses)} answers to {len(cases)} requests")
        for (op, args, fields), response in zip(cases, responses):
            tried += 1
            answers.append(response)
            forbidden = not response.get("ok") and response["error"]["code"] == "forbidden"
            if want_forbidden and not forbidden:
                findings.append(f"{role} was not refused {op} {json.dumps(fields)}: {json.dumps(response, ensure_ascii=False)[:200]}")
            if not want_forbidden and (forbidden or not response.get("ok")):
                findings.append(f"{role} could not {op}: {json.dumps(response, ensure_ascii=False)[:200]}")

    everything = [(op, {}, {}) for op in COMMANDS + QUERIES if op != "log.subscribe"]
    expect("unlisted uid", UIDS["stranger"], everything)
    expect("auditor", UIDS["auditor"], [(op, {}, {}) for op in COMMANDS] + [("projections.rebuild", {}, {})])
    expect("auditor (reads)", UIDS["auditor"], [("customer.get", own, {}), ("log.read", {"from": 1, "limit": 5}, {})], want_forbidden=False)
    expect("agent", UIDS["agent"], [(op, {}, {}) for op in sorted(COMPANY_COMMANDS | COMPANY_QUERIES) if op != "log.subscribe"])
    expect("agent", UIDS["agent"], [(op, args, {}) for op, args in other_agents_things])
    expect("agent", UIDS["agent"], [("customer.get", {"customerId": "mine"}, {"as": "ali"})])
    expect("agent (own)", UIDS["agent"], [("customer.get", {"customerId": "mine"}, {})], want_forbidden=False)
    expect("manager", UIDS["manager"], [("customer.get", own, {"as": "maryam"}), ("customer.get", own, {"as": "admin"})])
    expect("manager (all customers)", UIDS["manager"], [("customer.get", own, {}), ("report.daily", {"date": "2026-01-01"}, {})], want_forbidden=False)
    expect("gateway", UIDS["gateway"], [("customer.get", own, {})] + [("customer.get", own, {"as": who}) for who in ["admin", "audit", "pbx"]])
    expect("gateway as agent", UIDS["gateway"], [(op, args, {"as": "maryam"}) for op, args in other_agents_things])
    expect("gateway as agent (own)", UIDS["gateway"], [("customer.get", {"customerId": "mine"}, {"as": "maryam"})], want_forbidden=False)

    daemon.stop()

    # File modes: only the owner reads the data directory; the socket admits the group.
    modes = {}
    for directory, subdirectories, files in os.walk(data):
        modes[directory] = stat.S_IMODE(os.stat(directory).st_mode)
        for name in files:
            path = os.path.join(directory, name)
            if name in ("access.json",) or path.endswith(".daemon.log"):
                continue
            modes[path] = stat.S_IMODE(os.lstat(path).st_mode)
    for path, mode in modes.items():
        want = 0o700 if os.path.isdir(path) else 0o600
        if mode != want:
            findings.append(f"{os.path.relpath(path, data)} has mode {mode:o}, not {want:o}")
    daemon.start()
    socket_mode = stat.S_IMODE(os.stat(socket_path).st_mode)
    if socket_mode != 0o660:
        findings.append(f"the socket has mode {socket_mode:o}, not 660")
    daemon.stop()

    # No personal data in the daemon's log or in any answer's error message.
    with open(daemon.log_path, encoding="utf-8", errors="replace") as f:
        log = f.read()
    secrets = [NAME, PHONE, EMAIL, NOTE, "کوچه‌ی محرمانه"]
    for secret in secrets:
        if secret in log:
            findings.append(f"the daemon's log holds personal data: {secret}")
    for answer in answers:
        message = json.dumps(answer.get("error", {}), ensure_ascii=False)
        for secret in secrets:
            if secret in message:
                findings.append(f"an error message repeats personal data: {message[:200]}")
    with open(os.path.join(data, "log", "data.mdb"), "rb") as f:
        raw = f.read()
    for secret in secrets:
        if secret.encode() in raw:
            findings.append(f"the log file holds personal data in the clear: {secret}")

    figures = {"part": "security", "accessCasesTried": tried, "filesChecked": len(modes) + 1,
               "findings": len(findings), "details": findings[:20]}
    print(json.dumps(figures, ensure_ascii=False))
    if findings:
        print(f"security FAILED; data kept in {data}", file=sys.stderr)
        sys.exit(1)
    cleanup(data, sockets)


if __name__ == "__main__":
    main()
