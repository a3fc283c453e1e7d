"""Deployment files stay true to the binaries: the Kubernetes manifests render
offline with `kubectl kustomize`, and every flag they (and the systemd units)
pass exists in the binary's --help; ports, probes and scrape annotations
agree; the Dockerfile installs with deploy/install-deps.sh and ships the
binaries the build produces, its controller image neither installs nor links
LibTorch, and the controller pod runs that image.

usage: deploy_config_test.py KDNAS_CONTROLLER KDNAS_WORKER KDNAS_CLI
"""
import os
import re
import shutil
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
failures = []


def check(ok, message):
    if not ok:
        failures.append(message)


def help_flags(binary, *command):
    out = subprocess.run([binary, *command, "--help"], capture_output=True, text=True).stdout
    return set(re.findall(r"--([a-z0-9-]+)", out))


def flag_names(args):
    return [a[2:].split("=")[0] for a in args if a.startswith("--")]


def main():
    controller, worker, cli = sys.argv[1:4]
    binaries = {"kdnas-controller": help_flags(controller), "kdnas-worker serve": help_flags(worker, "serve")}

    # Kubernetes.
    if shutil.which("kubectl") is None:
        failures.append("kubectl is not installed")
    else:
        rendered = subprocess.run(["kubectl", "kustomize", os.path.join(ROOT, "deploy/k8s")], capture_output=True,
                                  text=True)
        check(rendered.returncode == 0, f"kubectl kustomize failed: {rendered.stderr}")
        docs = [d for d in yaml.safe_load_all(rendered.stdout) if d]
        kinds = {d["kind"] for d in docs}
        for kind in ["StatefulSet", "Deployment", "Service", "Secret", "ConfigMap", "Namespace"]:
            check(kind in kinds, f"the kustomize base has no {kind}")
        services = [d for d in docs if d["kind"] == "Service"]
        for d in docs:
            if d["kind"] not in ("StatefulSet", "Deployment"):
                continue
            pod = d["spec"]["template"]
            for c in pod["spec"]["containers"]:
                name = " ".join(c["command"] + (["serve"] if c["args"][:1] == ["serve"] else []))
                check(name in binaries, f"{d['metadata']['name']}: unknown binary {name}")
                known = binaries.get(name, set())
                for flag in flag_names(c["args"]):
                    check(flag in known, f"{d['metadata']['name']}: {name} has no flag --{flag}")
                check("resources" in c and "requests" in c["resources"], f"{d['metadata']['name']}: no resource requests")
                ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
                args = dict(a[2:].split("=", 1) for a in c["args"] if a.startswith("--") and "=" in a)
                if name == "kdnas-controller":
                    check(ports.get("grpc") == int(args["listen"].rsplit(":", 1)[1]), "grpc port != --listen port")
                    check(ports.get("metrics") == int(args["metrics-listen"].rsplit(":", 1)[1]),
                          "metrics port != --metrics-listen port")
                    for probe in ("readinessProbe", "livenessProbe"):
                        check(c.get(probe, {}).get("grpc", {}).get("port") == ports.get("grpc"),
                              f"{probe} is not a gRPC health probe on the gRPC port")
                    annotations = pod["metadata"].get("annotations", {})
                    check(annotations.get("prometheus.io/port") == str(ports.get("metrics")),
                          "the scrape annotation names another port")
                    check(any(d2["kind"] == "StatefulSet" for d2 in docs) and c["volumeMounts"][0]["mountPath"] ==
                          args["data-dir"], "the data volume is not mounted at --data-dir")
                    for svc in services:
                        for p in svc["spec"]["ports"]:
                            check(p["targetPort"] in ports, f"service port {p['name']} targets an unknown port")

    # systemd units.
    for unit, binary in [("kdnas-controller.service", "kdnas-controller"), ("kdnas-worker@.service",
                                                                             "kdnas-worker serve")]:
        text = open(os.path.join(ROOT, "deploy/systemd", unit)).read().replace("\\\n", " ")
        exec_start = re.search(r"^ExecStart=(.+)$", text, re.M).group(1)
        for flag in flag_names(exec_start.split()):
            check(flag in binaries[binary], f"{unit}: {binary} has no flag --{flag}")

    # Dockerfile: the same install script as CI, and binaries the build makes.
    dockerfile = open(os.path.join(ROOT, "deploy/Dockerfile")).read()
    check(dockerfile.count("install-deps.sh") >= 2, "the Dockerfile does not install with deploy/install-deps.sh")
    check(dockerfile.startswith("# ") and "FROM debian:12" in dockerfile, "the Dockerfile is not based on Debian 12")
    build = os.path.dirname(os.path.dirname(os.path.abspath(controller)))
    for path in re.findall(r"build/(\S+/kdnas[-a-z]*)", dockerfile):
        check(os.path.exists(os.path.join(build, path)), f"the Dockerfile copies build/{path}, which the build lacks")
    # Its stages: a controller-only image without LibTorch, and the full one as the default (last) stage.
    stages = {}
    for block in re.split(r"^(?=FROM )", dockerfile, flags=re.M)[1:]:
        name = re.match(r"FROM \S+(?: AS (\S+))?", block).group(1)
        stages[name] = block
    check(list(stages)[-1] == "full" and "kdnas-worker" in stages.get("full", ""),
          "the last (default) Dockerfile stage is not the full image with kdnas-worker")
    for name, needle in [("build-controller", "install-deps.sh controller"), ("build-controller", "-DKDNAS_WORKER=OFF"),
                         ("controller", "install-deps.sh controller"), ("controller", "--from=build-controller")]:
        check(needle in stages.get(name, ""), f"the Dockerfile stage {name} lacks '{needle}'")
    for name in ("build-controller", "controller"):
        check("kdnas-worker" not in stages.get(name, "kdnas-worker"), f"the Dockerfile stage {name} ships kdnas-worker")
    install = open(os.path.join(ROOT, "deploy/install-deps.sh")).read()
    controller_packages = re.search(r"^CONTROLLER_PACKAGES=\((.*?)^\)", install, re.M | re.S)
    check(controller_packages is not None, "install-deps.sh has no CONTROLLER_PACKAGES")
    if controller_packages:
        words = [w for line in controller_packages.group(1).splitlines() for w in line.split("#")[0].split()]
        check("libgrpc++-dev" in words, "CONTROLLER_PACKAGES lacks libgrpc++-dev")
        for word in words:
            check("torch" not in word and "openblas" not in word, f"CONTROLLER_PACKAGES installs {word}")
    # The controller pod runs the controller-only image.
    if shutil.which("kubectl") is not None:
        for d in docs:
            for c in d["spec"]["template"]["spec"]["containers"] if d["kind"] in ("StatefulSet", "Deployment") else []:
                want = "kdnas-controller:" if c["command"] == ["kdnas-controller"] else "kdnas:"
                check(c["image"].startswith(want), f"{d['metadata']['name']} runs image {c['image']}, not {want}*")
    print(f"deploy config test: {len(failures)} problem(s)")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
