"""Network partitions: the controller and two workers run in separate network
namespaces that this test creates (ip netns, a veth pair, addresses only
inside them); a third worker shares the controller's namespace. The workers'
link is cut long enough for their leases to expire and be reassigned, then
healed; then the link gets delay and loss (tc netem where the kernel has it,
otherwise a delaying, connection-dropping TCP proxy). The job must finish
with every trial counted once, leases must have expired and been reassigned,
and the cut-off workers must come back and run trials again.

usage: partition_test.py KDNAS_CONTROLLER KDNAS_WORKER KDNAS_CLI   (as root)
"""
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests/fixtures"))
from synthetic_job import make_teacher, write_job  # noqa: E402
SUFFIX = f"{os.getpid() % 10000}"
NS_CTL, NS_WRK = f"kdctl{SUFFIX}", f"kdwrk{SUFFIX}"
NET = f"10.{77 + os.getpid() % 100}.{os.getpid() % 200}"
CTL_IP, WRK_IP = f"{NET}.1", f"{NET}.2"
PORT = 50051


def sh(*args, check=True):
    return subprocess.run(args, check=check, capture_output=True, text=True)


def netns_setup():
    sh("ip", "netns", "add", NS_CTL)
    sh("ip", "netns", "add", NS_WRK)
    sh("ip", "link", "add", f"vc{SUFFIX}", "type", "veth", "peer", "name", f"vw{SUFFIX}")
    sh("ip", "link", "set", f"vc{SUFFIX}", "netns", NS_CTL)
    sh("ip", "link", "set", f"vw{SUFFIX}", "netns", NS_WRK)
    sh("ip", "-n", NS_CTL, "addr", "add", f"{CTL_IP}/24", "dev", f"vc{SUFFIX}")
    sh("ip", "-n", NS_WRK, "addr", "add", f"{WRK_IP}/24", "dev", f"vw{SUFFIX}")
    for ns, dev in [(NS_CTL, f"vc{SUFFIX}"), (NS_WRK, f"vw{SUFFIX}")]:
        sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")


def netns_teardown():
    sh("ip", "netns", "del", NS_CTL, check=False)
    sh("ip", "netns", "del", NS_WRK, check=False)


def link(up):
    sh("ip", "-n", NS_WRK, "link", "set", f"vw{SUFFIX}", "up" if up else "down")


def in_ns(ns, *args):
    return ["ip", "netns", "exec", ns, *args]


class FlakyProxy:
    """A TCP proxy in the workers' namespace that delays every chunk and now
    and then drops a connection: delay and loss when tc netem is missing."""

    def __init__(self, listen_port, target, delay_s, drop_probability):
        self.listen_port, self.target = listen_port, target
        self.delay_s, self.drop = delay_s, drop_probability
        self.stop = False

    def serve(self):
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.listen_port))
        server.listen(64)
        server.settimeout(0.5)
        while not self.stop:
            try:
                client, _ = server.accept()
            except socket.timeout:
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()
        server.close()

    def pipe(self, src, dst):
        try:
            while not self.stop:
                data = src.recv(65536)
                if not data or random.random() < self.drop:
                    break
                time.sleep(self.delay_s)
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.close()
            except OSError:
                pass


def main():
    if os.geteuid() != 0:
        raise SystemExit("partition_test needs root (network namespaces)")
    controller, worker, cli = sys.argv[1:4]
    tmp = tempfile.mkdtemp()
    make_teacher(worker, f"{tmp}/teacher.pt")
    procs = []
    netns_teardown()
    netns_setup()
    try:
        open(f"{tmp}/tokens", "w").write("admin-token-123 admin\nworker-token-12 worker\n")
        addr = f"{CTL_IP}:{PORT}"
        procs.append(subprocess.Popen(in_ns(NS_CTL, controller, f"--listen={addr}", f"--data-dir={tmp}/data",
                                            f"--token-file={tmp}/tokens", "--lease-ttl-ms=2000",
                                            "--heartbeat-interval-ms=200", "--metrics-listen="),
                                      stderr=open(f"{tmp}/controller.log", "w")))
        kdnas = lambda *a: subprocess.run(in_ns(NS_CTL, cli, *a, "--addr", addr, "--token", "admin-token-123"),
                                          capture_output=True, text=True)
        for _ in range(100):
            if kdnas("jobs").returncode == 0:
                break
            time.sleep(0.1)
        write_job(f"{tmp}/job.yaml", f"{tmp}/teacher.pt", "partitions", [32, 64, 96, 128],
                  "budget: {max_trials: 40, max_attempts: 10}\nseed: 3\n")
        r = kdnas("submit", f"{tmp}/job.yaml", "--no-upload")
        assert r.returncode == 0, r.stderr
        logs = []

        def start_worker(ns, name, target):
            log = f"{tmp}/{name}.log"
            logs.append(log)
            procs.append(subprocess.Popen(in_ns(ns, worker, "serve", "--synthetic", "--synthetic-ms", "300",
                                                "--controller", target, "--token", "worker-token-12",
                                                "--cache-dir", f"{tmp}/{name}", "--wait-ms", "300",
                                                "--max-idle-polls", "10"),
                                          stderr=open(log, "w")))

        start_worker(NS_WRK, "remote1", addr)
        start_worker(NS_WRK, "remote2", addr)
        start_worker(NS_CTL, "local", addr)

        # Finished trials: multi-fidelity (on by default) stops some of them early.
        def succeeded():
            out = kdnas("status", "1", "--json")
            if out.returncode != 0:
                return 0
            progress = json.loads(out.stdout)["progress"]
            return int(progress.get("trials_succeeded", 0)) + int(progress.get("trials_stopped", 0))

        while succeeded() < 8:
            time.sleep(0.2)
        print("cutting the workers' link for 5 s (lease TTL 2 s)")
        link(False)
        time.sleep(5)
        link(True)
        healed_at = succeeded()
        # Delay and loss.
        netem = sh("ip", "netns", "exec", NS_WRK, "tc", "qdisc", "add", "dev", f"vw{SUFFIX}", "root", "netem",
                   "delay", "40ms", "loss", "5%", check=False).returncode == 0
        if netem:
            print("tc netem: 40 ms delay, 5% loss on the workers' link")
        else:
            print("tc netem is not available in this kernel: a TCP proxy adds 20 ms per chunk and drops 2% of them")
            # The proxy lives in the workers' namespace, in a process of its own.
            helper = subprocess.Popen(in_ns(NS_WRK, sys.executable, "-c", f"""
import sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
from partition_test import FlakyProxy
FlakyProxy({PORT + 1}, ({CTL_IP!r}, {PORT}), 0.02, 0.02).serve()
"""))
            procs.append(helper)
            time.sleep(0.5)
            start_worker(NS_WRK, "flaky", f"127.0.0.1:{PORT + 1}")
        deadline = time.time() + 120
        state = ""
        while time.time() < deadline:
            out = kdnas("status", "1", "--json")
            if out.returncode == 0:
                state = json.loads(out.stdout)["state"]
                if state != "JOB_STATE_RUNNING":
                    break
            time.sleep(0.3)
        job = json.loads(kdnas("status", "1", "--json").stdout)
        trials = json.loads(kdnas("trials", "1", "--json").stdout).get("trials", [])
        worker_logs = "".join(open(l).read() for l in logs)
        succeeded_trials = [t for t in trials if t["state"] in ("TRIAL_STATE_SUCCEEDED", "TRIAL_STATE_STOPPED")]
        reassigned = [t for t in trials if int(t.get("attempts", 1)) > 1]
        remote_after_heal = sum(len(re.findall(r"delivered lease", open(l).read())) for l in logs if "remote" in l)
        used = float(job["progress"].get("worker_seconds_used", 0))
        total = sum(float(t.get("metrics", {}).get("worker_seconds", 0)) for t in trials)
        errors = []
        if job["state"] != "JOB_STATE_SUCCEEDED":
            errors.append(f"job ended {job['state']}")
        if len(succeeded_trials) != 40:
            errors.append(f"{len(succeeded_trials)} succeeded or stopped, want 40")
        if not any(t["state"] == "TRIAL_STATE_SUCCEEDED" for t in trials):
            errors.append("no trial succeeded")
        if not reassigned:
            errors.append("no lease expired and was reassigned during the cut")
        if abs(used - total) > 1e-6 * max(1, total):
            errors.append(f"worker-seconds used {used} != sum over trials {total}: a result counted twice")
        if remote_after_heal == 0:
            errors.append("the cut-off workers never reported again")
        if "lost its lease" not in worker_logs and "refused" not in worker_logs:
            errors.append("no worker noticed a lost lease")
        print(f"partition test: {len(succeeded_trials)} succeeded or stopped, {len(reassigned)} reassigned after expiry, "
              f"{succeeded() - healed_at} finished after healing, remote reports {remote_after_heal}")
        if errors:
            print("FAILED:\n  " + "\n  ".join(errors))
            for l in logs:
                print(f"--- {l}\n" + open(l).read()[-2000:])
            sys.exit(1)
        print("partition test passed")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        netns_teardown()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
