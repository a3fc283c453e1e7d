"""Observability test against a real Prometheus server (Debian `prometheus`):
checks the shipped config and rules with promtool, starts a controller whose
exposer Prometheus scrapes while synthetic workers run a search, then
evaluates every PromQL expression of the Grafana dashboard and of the alert
rules through Prometheus's HTTP API: each must evaluate, dashboard queries
must return data and every metric an alert uses must exist. The hypervolume
series must never decrease.

usage: prometheus_test.py KDNAS_CONTROLLER KDNAS_WORKER KDNAS_CLI
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests/fixtures"))
from synthetic_job import make_teacher, write_job  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def query(prom, expr, **extra):
    params = {"query": expr, **extra}
    path = "query_range" if "step" in extra else "query"
    url = f"http://127.0.0.1:{prom}/api/v1/{path}?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def wait_for(predicate, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if predicate():
                return
        except Exception:
            pass
        time.sleep(0.5)
    raise SystemExit(f"timed out waiting for {what}")


def main():
    controller, worker, cli = sys.argv[1:4]
    tmp = tempfile.mkdtemp()
    make_teacher(worker, f"{tmp}/teacher.pt")
    procs = []
    try:
        run = lambda *a: subprocess.run(a, check=True, capture_output=True, text=True)
        run("promtool", "check", "config", os.path.join(ROOT, "deploy/prometheus/prometheus.yml"))
        run("promtool", "check", "rules", os.path.join(ROOT, "deploy/prometheus/alerts.yml"))

        grpc_port, metrics_port, prom_port = free_port(), free_port(), free_port()
        addr = f"127.0.0.1:{grpc_port}"
        env = dict(os.environ, KDNAS_ADDR=addr)
        procs.append(subprocess.Popen([controller, f"--listen={addr}", f"--data-dir={tmp}/data",
                                       f"--metrics-listen=127.0.0.1:{metrics_port}"],
                                      stderr=open(f"{tmp}/controller.log", "w")))
        wait_for(lambda: subprocess.run([cli, "jobs"], env=env, capture_output=True).returncode == 0, 30,
                 "the controller")
        # The shipped config, pointed at this controller and scraping every second.
        config = open(os.path.join(ROOT, "deploy/prometheus/prometheus.yml")).read()
        config = config.replace("127.0.0.1:9464", f"127.0.0.1:{metrics_port}")
        config = config.replace("scrape_interval: 15s", "scrape_interval: 1s").replace(
            "evaluation_interval: 15s", "evaluation_interval: 1s")
        shutil.copy(os.path.join(ROOT, "deploy/prometheus/alerts.yml"), f"{tmp}/alerts.yml")
        open(f"{tmp}/prometheus.yml", "w").write(config)
        procs.append(subprocess.Popen(["prometheus", f"--config.file={tmp}/prometheus.yml",
                                       f"--storage.tsdb.path={tmp}/tsdb",
                                       f"--web.listen-address=127.0.0.1:{prom_port}"],
                                      stdout=subprocess.DEVNULL, stderr=open(f"{tmp}/prometheus.log", "w")))
        wait_for(lambda: query(prom_port, "up")["data"]["result"], 60, "Prometheus to scrape the controller")

        job_file = f"{tmp}/job.yaml"
        write_job(job_file, f"{tmp}/teacher.pt", "observability", [32, 64, 128],
                  "budget: {max_trials: 40}\nreport_size_budgets_bytes: [100000, 300000]\n")
        run(cli, "submit", job_file, "--no-upload", "--addr", addr)
        subprocess.run([cli, "status", "999", "--addr", addr], capture_output=True)  # a NOT_FOUND, for error rates
        for i in range(2):
            procs.append(subprocess.Popen([worker, "serve", "--synthetic", "--synthetic-ms", "300", "--controller",
                                           addr, "--cache-dir", f"{tmp}/w{i}", "--wait-ms", "500",
                                           "--max-idle-polls", "4"], stderr=subprocess.DEVNULL))
        start = time.time()
        wait_for(lambda: float(query(prom_port, 'kdnas_job_state{state="succeeded"}')["data"]["result"][0]["value"][1])
                 == 1, 120, "the job to end")
        time.sleep(3)  # a few more scrapes after the end

        dashboard = json.load(open(os.path.join(ROOT, "deploy/grafana/dashboards/kdnas.json")))
        exprs = [t["expr"].replace("$job", ".*") for p in dashboard["panels"] for t in p["targets"]]
        failures = []
        for e in exprs:
            r = query(prom_port, e)
            if r["status"] != "success":
                failures.append(f"dashboard: {e}: {r}")
            elif not r["data"]["result"]:
                failures.append(f"dashboard: {e}: no data")
        rules = open(os.path.join(ROOT, "deploy/prometheus/alerts.yml")).read()
        alert_exprs = re.findall(r"^\s+expr: (.+)$", rules, re.M)
        for e in alert_exprs:
            r = query(prom_port, e)
            if r["status"] != "success":
                failures.append(f"alert: {e}: {r}")
            for name in set(re.findall(r"\b(kdnas_[a-z_]+|process_[a-z_]+)", e)):
                base = re.sub(r"_(bucket|sum|count)$", "", name)
                if not query(prom_port, f'count({{__name__=~"{base}.*"}})')["data"]["result"]:
                    failures.append(f"alert: {e}: metric {name} has no data")
        # The rules were loaded and evaluated by Prometheus itself too.
        with urllib.request.urlopen(f"http://127.0.0.1:{prom_port}/api/v1/rules", timeout=10) as r:
            groups = json.load(r)["data"]["groups"]
        loaded = sum(len(g["rules"]) for g in groups)
        if loaded != len(alert_exprs):
            failures.append(f"Prometheus loaded {loaded} rules, the file has {len(alert_exprs)}")
        for g in groups:
            for rule in g["rules"]:
                if rule.get("health") != "ok":
                    failures.append(f"rule {rule['name']}: {rule.get('health')} {rule.get('lastError', '')}")
        # Hypervolume never decreases.
        r = query(prom_port, "kdnas_job_hypervolume", start=start - 5, end=time.time(), step="1")
        values = [float(v) for s in r["data"]["result"] for _, v in s["values"]]
        if not values:
            failures.append("no hypervolume samples")
        if any(b < a - 1e-12 for a, b in zip(values, values[1:])):
            failures.append(f"hypervolume decreased: {values}")
        print(f"prometheus test: {len(exprs)} dashboard and {len(alert_exprs)} alert expressions evaluated, "
              f"{len(values)} hypervolume samples from {values[0] if values else 0:.4f} to {values[-1] if values else 0:.4f}")
        if failures:
            print("FAILED:\n  " + "\n  ".join(failures))
            sys.exit(1)
        print("prometheus test passed")
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
