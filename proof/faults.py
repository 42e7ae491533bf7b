"""Faults: a data directory on a small filesystem that fills up (a size-limited tmpfs where this
user may mount one; otherwise writes and syncs under the data directory made to fail with ENOSPC
by a preloaded shim, proof/enospc.c), hundreds of subscribers at once against LMDB's reader table, and a subscriber that
never reads.

- Full disk: writes answer `unavailable`, reads keep working, the daemon stays up and even
  restarts on the full disk; nothing acknowledged is lost; writes resume when space returns;
  `crmd verify` passes and the projections equal a rebuild.
- Meta pages unwritable (a full copy-on-write file system or a failing disk, injected): writes
  answer `unavailable` while it lasts, reads keep working, and the daemon carries on by itself
  once writes work again, with nothing acknowledged lost.
- Many subscribers: every one of them sees every event while a writer keeps writing, and the
  log's reader table never fills.
- A subscriber that never reads is cut off after --subscriber-timeout while writers go on.

Prints one JSON line per case; exits 1 when a case fails."""

import json
import os
import resource
import selectors
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crmdproof import Client, Daemon, cleanup, read_log, run, temporary  # noqa: E402

results = []


def report(case, ok, **figures):
    line = dict({"part": "faults", "case": case, "ok": ok}, **figures)
    results.append(line)
    print(json.dumps(line, ensure_ascii=False), flush=True)


def readers_in_use(log_directory):
    """Slots of the log environment's reader table ever taken (mdb_stat -e: "Number of readers used")."""
    output = subprocess.run(["mdb_stat", "-e", log_directory], capture_output=True, text=True).stdout
    for line in output.splitlines():
        if "Number of readers used" in line:
            return int(line.split(":")[1])
    return -1


class TmpfsDisk:
    """A 12 MiB tmpfs that really fills up; space returns by remounting it larger."""
    how = "tmpfs"

    def __init__(self):
        self.mount = temporary("disk")
        self.log = self.mount + ".daemon.log"
        self.mounted = os.getuid() == 0 and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", self.mount], stderr=subprocess.DEVNULL).returncode == 0
        self.data = os.path.join(self.mount, "data")
        self.env = None

    def fill_after(self, acknowledged):
        return False  # it fills by itself

    def free(self):
        subprocess.run(["mount", "-o", "remount,size=256m", self.mount], check=True)

    def release(self, ok):
        subprocess.run(["umount", self.mount])
        if ok:
            cleanup(self.mount)


class InjectedDisk:
    """Writes and syncs of files under the data directory fail with ENOSPC while a flag file
    exists (proof/enospc.c, preloaded); space returns when the flag goes."""
    how = "injected ENOSPC (no tmpfs mount here)"

    def __init__(self):
        self.root = temporary("disk")
        self.data = os.path.join(self.root, "data")
        self.flag = os.path.join(self.root, "full")
        self.log = os.path.join(self.root, "daemon.log")
        shim = os.path.join(self.root, "enospc.so")
        source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "enospc.c")
        subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", shim, source, "-ldl"], check=True)
        self.env = {"LD_PRELOAD": shim, "CRMD_FAULT_FLAG": self.flag, "CRMD_FAULT_DIR": self.data}

    def fill_after(self, acknowledged):
        if acknowledged >= 300 and not os.path.exists(self.flag):
            open(self.flag, "w").close()
        return True

    def free(self):
        os.remove(self.flag)

    def release(self, ok):
        if ok:
            cleanup(self.root)


def settle(daemon, data, acked, customers):
    """After a fault: asks the caught-up daemon about `customers` and a report, stops it, rebuilds
    every projection offline and asks again; then reads the log. Returns the acknowledged
    request ids not at their positions, whether `crmd verify` passes, and whether the live and
    rebuilt answers are equal."""
    questions = [("customer.get", {"customerId": rid}) for rid in customers] + [
        ("report.workload", {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"})]
    with Client(daemon.socket) as client:
        live = [client.call(op, args) for op, args in questions]
    daemon.stop()
    run(["rebuild", "--all", "--data", data])
    daemon.start()
    with Client(daemon.socket) as client:
        rebuilt = [client.call(op, args) for op, args in questions]
    daemon.stop()
    logged = {e.get("requestId"): e["position"] for e in read_log(data)}
    lost = [rid for rid, position in acked.items() if logged.get(rid) != position]
    verified = run(["verify", "--data", data], check=False).returncode == 0
    return lost, verified, live == rebuilt


def full_disk():
    # PROOF_DISK=injected tries the shim where a tmpfs could be mounted too.
    disk = TmpfsDisk() if os.environ.get("PROOF_DISK") != "injected" else None
    if disk is None or not disk.mounted:
        if disk:
            cleanup(disk.mount)
        disk = InjectedDisk()
    data = disk.data
    daemon = Daemon(data, log=disk.log, env=disk.env).start()
    acked = {}
    refused = {"unavailable": 0}
    other_errors = []
    lock = threading.Lock()

    def writer(index, until_refusals):
        with Client(daemon.socket) as client:
            n = 0
            while refused["unavailable"] < until_refusals and n < 100_000:
                request_id = f"w{index}-{n}"
                answer = client.call("customer.register", {"customerId": request_id, "name": "نام و نام خانوادگی " * 8, "agentId": "a0",
                                                           "phones": ["0912 000 0000"]}, requestId=request_id)
                n += 1
                with lock:
                    disk.fill_after(len(acked))
                    if answer["ok"]:
                        acked[request_id] = answer["result"]["position"]
                    elif answer["error"]["code"] == "unavailable":
                        refused["unavailable"] += 1
                    else:
                        other_errors.append(answer)

    with Client(daemon.socket) as admin:
        assert admin.call("agent.hire", {"agentId": "a0", "name": "آرش"})["ok"]
    threads = [threading.Thread(target=writer, args=(i, 200)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    alive_when_full = daemon.process.poll() is None
    with Client(daemon.socket) as reader:
        some = sorted(acked)[:20]
        reads_ok = all(reader.call("customer.get", {"customerId": rid})["ok"] for rid in some)
        reads_ok &= reader.call("report.workload", {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"})["ok"]
        status = reader.call("system.status")
    # A power cut on a full disk, and a start on it: reads still work.
    daemon.kill()
    daemon.start()
    with Client(daemon.socket) as reader:
        reads_after_restart = all(reader.call("customer.get", {"customerId": rid})["ok"] for rid in some)
        still_refused = reader.call("customer.register", {"name": "x", "agentId": "a0"})
    # Space returns.
    disk.free()
    with Client(daemon.socket) as client:
        deadline = time.monotonic() + 30
        resumed = False
        while time.monotonic() < deadline and not resumed:
            answer = client.call("customer.register", {"customerId": "after-space", "name": "پس از آزاد شدن فضا", "agentId": "a0"}, requestId="after-space")
            resumed = answer["ok"]
            if resumed:
                acked["after-space"] = answer["result"]["position"]
            else:
                time.sleep(0.2)
    daemon.wait_caught_up()
    lost, verified, equal = settle(daemon, data, acked, some + ["after-space"])
    ok = (alive_when_full and reads_ok and status["ok"] and reads_after_restart
          # LMDB may still have free pages inside its file to take one more small write.
          and (still_refused["ok"] or still_refused["error"]["code"] == "unavailable") and resumed and not lost and verified and equal and not other_errors)
    report("full disk", ok, disk=disk.how, acknowledged=len(acked), sampleOtherErrors=other_errors[:2], writeAfterRestartOnFullDisk=still_refused.get("error", {}).get("code", "ok"), refusedUnavailable=refused["unavailable"], otherErrors=len(other_errors),
           aliveWhenFull=alive_when_full, readsWhenFull=reads_ok, readsAfterRestartOnFullDisk=reads_after_restart,
           resumedAfterSpace=resumed, lost=len(lost), verify=verified, projectionsEqualRebuild=equal)
    disk.release(ok)


def meta_pages_unwritable():
    """LMDB's meta pages cannot be written for a while (a full copy-on-write file system, a failing
    disk: proof/enospc.c with CRMD_FAULT_META=1, on the log, the projections and the keys at once).
    LMDB then declares each environment unusable (MDB_PANIC); the daemon must reopen them by itself
    and carry on, without a restart, and lose nothing it acknowledged."""
    disk = InjectedDisk()
    disk.env["CRMD_FAULT_META"] = "1"
    daemon = Daemon(disk.data, log=disk.log, env=disk.env).start()
    acked = {}
    refused = {}
    lock = threading.Lock()
    phase = {"broken": False}

    def writer(index):
        with Client(daemon.socket) as client:
            for n in range(100_000):
                with lock:
                    if phase.get("done"):
                        return
                request_id = f"m{index}-{n}"
                answer = client.call("customer.register", {"customerId": request_id, "name": "مشتری فرامتن " + request_id,
                                                           "agentId": "a0"}, requestId=request_id)
                with lock:
                    if answer["ok"]:
                        acked[request_id] = answer["result"]["position"]
                    else:
                        refused[answer["error"]["code"]] = refused.get(answer["error"]["code"], 0) + 1

    with Client(daemon.socket) as admin:
        assert admin.call("agent.hire", {"agentId": "a0", "name": "آرش"})["ok"]
    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()

    def wait(condition, seconds=60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with lock:
                if condition():
                    return True
            time.sleep(0.01)
        return False

    wait(lambda: len(acked) >= 300)
    open(disk.flag, "w").close()
    refused_while_broken = wait(lambda: sum(refused.values()) >= 100)
    with Client(daemon.socket) as reader:
        with lock:
            some = sorted(acked)[:20]
        reads_while_broken = all(reader.call("customer.get", {"customerId": rid})["ok"] for rid in some)
    disk.free()
    with lock:
        acked_at_repair = len(acked)
    resumed = wait(lambda: len(acked) >= acked_at_repair + 300)
    with lock:
        phase["done"] = True
    for thread in threads:
        thread.join(timeout=60)
    alive = daemon.process.poll() is None
    daemon.wait_caught_up()
    with Client(daemon.socket) as client:
        reopenings = client.call("system.status")["result"]["storageReopenings"]
    warned = "MDB_PANIC" in open(disk.log, errors="replace").read()
    lost, verified, equal = settle(daemon, disk.data, acked, some)
    ok = (refused_while_broken and set(refused) <= {"unavailable"} and reads_while_broken and resumed and alive
          and not lost and verified and equal and reopenings["log"] > 0 and warned)
    report("meta pages unwritable", ok, acknowledged=len(acked), refused=refused, readsWhileBroken=reads_while_broken,
           statusReopenings=reopenings, warningLogged=warned,
           resumedWithoutRestart=resumed, alive=alive, lost=len(lost), verify=verified, projectionsEqualRebuild=equal)
    disk.release(ok)


def many_subscribers(count=900, events=3000):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, count + 200)), hard))
    data = temporary("subscribers")
    daemon = Daemon(data).start()
    with Client(daemon.socket) as admin:
        assert admin.call("agent.hire", {"agentId": "a0", "name": "آرش"})["ok"]
    selector = selectors.DefaultSelector()
    seen = {}
    sockets = []
    for i in range(count):
        client = Client(daemon.socket)
        client.send({"id": i, "op": "log.subscribe", "args": {"from": 1}})
        client.sock.setblocking(False)
        selector.register(client.sock, selectors.EVENT_READ, i)
        sockets.append(client)
        seen[i] = 0
    latencies = []

    def writer():
        with Client(daemon.socket) as client:
            for n in range(events - 1):
                began = time.monotonic()
                assert client.call("agent.hire", {"agentId": f"s{n}", "name": "کارمند"})["ok"]
                latencies.append(time.monotonic() - began)

    thread = threading.Thread(target=writer)
    thread.start()
    readers_max = 0
    deadline = time.monotonic() + 300
    buffers = {i: b"" for i in range(count)}
    finished = 0
    errors = 0
    while finished < count and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=1):
            i = key.data
            try:
                chunk = key.fileobj.recv(1 << 16)
            except BlockingIOError:
                continue
            if not chunk:
                selector.unregister(key.fileobj)
                errors += 1
                finished += 1
                continue
            data_ = buffers[i] + chunk
            lines = data_.count(b"\n")
            buffers[i] = data_[data_.rfind(b"\n") + 1:]
            seen[i] += lines
            if seen[i] >= events:
                selector.unregister(key.fileobj)
                finished += 1
        readers_max = max(readers_max, readers_in_use(os.path.join(data, "log")))
    thread.join()
    for client in sockets:
        client.close()
    alive = daemon.process.poll() is None
    daemon.stop()
    complete = sum(1 for i in seen if seen[i] >= events)
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)] if latencies else 0
    ok = alive and complete == count and errors == 0 and 0 <= readers_max < 126
    report("many subscribers", ok, subscribers=count, events=events, sawEveryEvent=complete, cutOff=errors,
           maxLogReaderSlotsInUse=readers_max, writerP99Milliseconds=round(p99 * 1000, 1))
    if ok:
        cleanup(data)


def subscriber_that_never_reads():
    data = temporary("stalled")
    daemon = Daemon(data, ["--subscriber-timeout", "2"]).start()
    with Client(daemon.socket) as admin:
        assert admin.call("agent.hire", {"agentId": "a0", "name": "آرش"})["ok"]
        for n in range(4000):  # enough history to fill the socket buffers of a client that never reads
            admin.send({"id": n, "op": "customer.register", "args": {"name": "نام " * 50, "agentId": "a0"}})
        for n in range(4000):
            admin.receive()
    stalled = Client(daemon.socket)
    stalled.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.send({"id": 1, "op": "log.subscribe", "args": {"from": 1}})
    began = time.monotonic()
    latencies = []
    with Client(daemon.socket) as writer:
        while time.monotonic() - began < 8:
            t = time.monotonic()
            assert writer.call("customer.register", {"name": "در حین اشتراک", "agentId": "a0"})["ok"]
            latencies.append(time.monotonic() - t)
    # The daemon has closed the stalled connection: draining what it had sent ends in EOF.
    stalled.sock.settimeout(5)
    closed = False
    try:
        while True:
            if not stalled.sock.recv(1 << 20):
                closed = True
                break
    except OSError:
        closed = True
    stalled.close()
    alive = daemon.process.poll() is None
    daemon.stop()
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)]
    ok = closed and alive and p99 < 1.0
    report("subscriber that never reads", ok, cutOff=closed, writes=len(latencies), writerP99Milliseconds=round(p99 * 1000, 1))
    if ok:
        cleanup(data)


def main():
    full_disk()
    meta_pages_unwritable()
    many_subscribers()
    subscriber_that_never_reads()
    if not all(r["ok"] for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
