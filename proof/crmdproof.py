"""Shared parts of `make proof`: a real crmd daemon started, killed and restarted, and clients
that talk to it over its Unix socket exactly as any integration would."""

import atexit
import json
import os
import signal
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRMD = os.environ.get("CRMD", os.path.join(ROOT, ".build", "release", "crmd"))


class Daemon:
    """One `crmd serve` on a data directory: started, SIGKILLed, restarted, stopped."""

    def __init__(self, data, extra=(), log=None, env=None):
        self.data = data
        self.extra = list(extra)
        self.env = env
        self.socket = os.path.join(data, "crmd.sock")
        self.log_path = log or data + ".daemon.log"
        self.process = None
        self._reaped = False

    def _kill_if_running(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def start(self, timeout=60):
        """Starts the daemon and waits until it answers system.status."""
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([CRMD, "serve", "--data", self.data] + self.extra,
                                        stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                        env=dict(os.environ, **self.env) if self.env else None)
        log.close()
        if not self._reaped:
            # A part that stops on a failed check must not leave a daemon behind.
            atexit.register(self._kill_if_running)
            self._reaped = True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"crmd serve exited with {self.process.returncode}; see {self.log_path}")
            try:
                with Client(self.socket, timeout=2) as client:
                    if client.call("system.status").get("ok"):
                        return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("crmd serve did not come up")

    def kill(self):
        """SIGKILL: no drain, no flush, as a power cut would stop it."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        """SIGTERM and wait for the clean exit."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode if self.process else None

    def wait_caught_up(self, timeout=120):
        """Waits until every projection has folded the log up to its head."""
        deadline = time.monotonic() + timeout
        with Client(self.socket) as client:
            while time.monotonic() < deadline:
                status = client.call("system.status")["result"]
                head = status["headPosition"]
                if all(p["checkpoint"] >= head for p in status["projections"]):
                    return head
                time.sleep(0.05)
        raise RuntimeError("projections did not catch up")


class Client:
    """A socket connection speaking crmd's newline-delimited JSON."""

    def __init__(self, path, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        for attempt in range(100):
            try:
                self.sock.connect(path)
                break
            except BlockingIOError:  # the listen backlog is full for a moment: back off, as any client would
                time.sleep(0.01 * (attempt + 1))
        else:
            raise ConnectionError(f"could not connect to {path}")
        self.buffer = b""
        self.next_id = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, request):
        self.send_raw(json.dumps(request, ensure_ascii=False).encode() + b"\n")

    def receive_line(self):
        """One response line; ConnectionError when the daemon went away."""
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line

    def receive(self):
        return json.loads(self.receive_line())

    def call(self, op, args=None, **fields):
        self.next_id += 1
        request = {"id": self.next_id, "op": op, "args": args or {}}
        request.update(fields)
        self.send(request)
        return self.receive()


def run(arguments, check=True, **kwargs):
    """Runs `crmd ARGUMENTS`, returning the completed process (output as text)."""
    result = subprocess.run([CRMD] + arguments, capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise RuntimeError(f"crmd {' '.join(arguments)} failed: {result.stdout}{result.stderr}")
    return result


def read_log(data):
    """Every event of the log in DATA (offline), as dicts."""
    output = run(["replay", "--data", data, "--format", "jsonl"]).stdout
    return [json.loads(line) for line in output.splitlines() if line]


def temporary(name):
    return tempfile.mkdtemp(prefix=f"crmd-proof-{name}-")


def cleanup(*paths):
    """Removes a passed part's directories and daemon logs (a failed part keeps them to look at)."""
    import shutil
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)
        try:
            os.remove(path + ".daemon.log")
        except OSError:
            pass
