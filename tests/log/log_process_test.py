#!/usr/bin/env python3
"""The logs of real processes: every binary's --help lists --log-level and
--log-format and bad values are refused; a controller and synthetic workers
logging JSON write one valid object a line with the operator's events (job
submitted and ended, a lease that expires after its worker is killed, a
retried trial, deliveries) carrying job, trial and worker; --log-level warn
leaves no info line.
Usage: log_process_test.py KDNAS_CONTROLLER KDNAS_WORKER KDNAS_CLI"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests/fixtures"))
from synthetic_job import make_teacher, write_job  # noqa: E402
errors = []


def check(ok, what):
    if not ok:
        errors.append(what)
    return ok


def wait_for(predicate, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def json_lines(path, name):
    out = []
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        try:
            out.append(json.loads(line))
        except ValueError:
            errors.append(f"{name} line {n} is not JSON: {line!r}")
    return out


def events(lines, message, **fields):
    return [j for j in lines if j.get("message") == message and all(j.get(k) == v for k, v in fields.items())]


def main():
    controller, worker, cli = sys.argv[1:4]
    tmp = tempfile.mkdtemp()
    procs = []
    try:
        # --help and bad values.
        for cmd in ([controller], [worker, "serve"], [worker, "train-teacher"], [worker, "run-candidate"],
                    [worker, "run-candidates"], [worker, "generate"], [worker, "info"], [worker, "baseline-rtn"]):
            out = subprocess.run(cmd + ["--help"], capture_output=True, text=True).stdout
            check("--log-level" in out and "--log-format" in out, f"{' '.join(cmd)} --help lacks the log flags")
        for cmd in ([controller, "--log-level", "loud"], [worker, "serve", "--log-format", "xml"]):
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            check(r.returncode == 2 and "--log-" in r.stderr, f"{cmd} exited {r.returncode}: {r.stderr!r}")

        make_teacher(worker, f"{tmp}/teacher.pt")
        port = random.randint(20000, 40000)
        env = dict(os.environ, KDNAS_ADDR=f"127.0.0.1:{port}")
        kdnas = lambda *a: subprocess.run([cli, *a], capture_output=True, text=True, env=env)

        def start_controller(log, *flags):
            p = subprocess.Popen([controller, f"--listen=127.0.0.1:{port}", f"--data-dir={tmp}/data",
                                  "--metrics-listen=", "--lease-ttl-ms=1000", "--heartbeat-interval-ms=200",
                                  *flags], stderr=open(log, "w"))
            procs.append(p)
            check(wait_for(lambda: kdnas("jobs").returncode == 0, 20), "the controller did not start")
            return p

        def stop(p):
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)

        # --log-level warn: the warning about the missing token file, no info line.
        p = start_controller(f"{tmp}/warn.log", "--log-level=warn")
        stop(p)
        warn = open(f"{tmp}/warn.log").read()
        check("WARN  no --token-file" in warn, f"no warning at --log-level warn: {warn!r}")
        check("INFO" not in warn, f"info lines at --log-level warn: {warn!r}")

        # A search logged as JSON.
        ctl = start_controller(f"{tmp}/controller.log", "--log-format=json")
        write_job(f"{tmp}/job.yaml", f"{tmp}/teacher.pt", "logs", None,
                  "budget: {max_trials: 3}\nstrategy: {multi_fidelity: {enabled: false}}\nseed: 3\n")
        r = kdnas("submit", f"{tmp}/job.yaml", "--no-upload")
        check(r.returncode == 0, f"submit failed: {r.stderr}")

        def serve(name, *flags):
            procs.append(subprocess.Popen([worker, "serve", "--synthetic", "--controller", f"127.0.0.1:{port}",
                                           "--worker-id", name, "--cache-dir", f"{tmp}/{name}", "--wait-ms", "300",
                                           "--log-format=json", *flags], stderr=open(f"{tmp}/{name}.log", "w")))
            return procs[-1]

        # The victim leases a long trial and is killed: its lease expires.
        victim = serve("victim", "--synthetic-ms", "60000")
        leased = lambda: events(json_lines(f"{tmp}/controller.log", "controller"), "trial leased", worker="victim")
        check(wait_for(leased, 20), "the victim leased nothing")
        victim.kill()
        victim.wait()
        # Every first attempt of the survivor fails (retryably).
        survivor = serve("survivor", "--synthetic-ms", "50", "--synthetic-failure-rate", "1",
                         "--max-idle-polls", "3")
        state = lambda: json.loads(kdnas("status", "1", "--json").stdout or "{}").get("state")
        check(wait_for(lambda: state() not in (None, "JOB_STATE_RUNNING"), 60), "the job did not end")
        # The survivor leaves after three empty polls, while the controller still answers.
        survivor.wait(timeout=30)
        stop(ctl)

        log = json_lines(f"{tmp}/controller.log", "controller")
        for j in log:
            check({"time", "level", "message"} <= j.keys(), f"a line without time, level or message: {j}")
        check(events(log, "serving", port=port), "no serving line with the port")
        check(events(log, "job submitted", job="jobs/1", display_name="logs", max_trials=3), "no job submitted")
        lease = (leased() or [{}])[0]
        trial = lease.get("trial", "")
        check(lease.get("job") == "jobs/1" and trial.startswith("jobs/1/trials/") and lease.get("attempt") == 1,
              f"trial leased lacks job, trial or attempt: {lease}")
        check(events(log, "worker joined", worker="victim") and events(log, "worker joined", worker="survivor"),
              "no worker joined")
        check(events(log, "lease expired", job="jobs/1", trial=trial, worker="victim", attempt=1,
                     outcome="retrying"), f"no lease expiry of {trial} on victim")
        retried = events(log, "trial retried", job="jobs/1", worker="survivor")
        check(retried and "synthetic" in retried[0].get("reason", ""), f"no retried trial with its reason: {retried}")
        check(events(log, "trial succeeded", job="jobs/1", trial=trial, worker="survivor"),
              f"{trial} did not succeed on the survivor")
        ended = events(log, "job ended", job="jobs/1", state="JOB_STATE_SUCCEEDED")
        check(ended and "trial budget reached" in ended[0].get("reason", ""), f"no job ended: {ended}")
        check(events(log, "shutting down", signal="SIGTERM"), "no shutting down line")

        survivor = json_lines(f"{tmp}/survivor.log", "survivor")
        check(events(survivor, "exiting", worker="survivor"), "the survivor did not log its exit")
        delivered = events(survivor, "delivered lease", job="jobs/1", worker="survivor")
        check(delivered and all(d.get("trial", "").startswith("jobs/1/trials/") for d in delivered),
              f"the survivor's deliveries lack job, trial or worker: {delivered}")
        check(events(survivor, "trial failed", worker="survivor", retryable=True), "the survivor logged no failure")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if errors:
            for name in ("controller", "survivor", "victim"):
                path = f"{tmp}/{name}.log"
                if os.path.exists(path):
                    print(f"--- {name}.log\n" + open(path).read())
        shutil.rmtree(tmp, ignore_errors=True)
    if errors:
        print("FAILED:\n  " + "\n  ".join(errors))
        sys.exit(1)
    print("log process test passed")


if __name__ == "__main__":
    main()
