#!/usr/bin/env python3
"""Runs docs/tutorial.md, so the tutorial cannot rot.

Fenced blocks tagged in their info string are taken in order:
  ```cpp tutorial:FILE     appended to FILE in a fresh working folder;
  ```sh tutorial:MACHINE   run by bash (-e, -o pipefail) in that folder, as a
                           terminal on MACHINE: its exported variables carry
                           over to MACHINE's next block, and each machine has
                           its own Manta runtime folder;
  ```text tutorial:expect  each line must be in the output of the block
                           before it.
The tutorial's two machines become two shells on this one: their documented
addresses (192.0.2.10 and .11) become 127.0.0.1, the head's port 6379 a free
one and the dashboard's 8265 any free one. Every block has a deadline.
Arguments: the source root and the build folder; the build's `manta` is put
first in PATH, and `pkg-config manta` finds the build's library.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

BLOCK = re.compile(r"^```(\w+) tutorial:(\S+)\n(.*?)^```$", re.M | re.S)
BLOCK_TIMEOUT = 180  # seconds; the compile is the slow one


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def localize(text, port):
    text = text.replace("192.0.2.10", "127.0.0.1").replace("192.0.2.11", "127.0.0.1")
    text = text.replace(":6379", f":{port}").replace("--port=6379", f"--port={port}")
    return text.replace("--dashboard-port=8265", "--dashboard-port=0")


def pkg_config_path(source_root, build, work):
    """Where `pkg-config manta` finds this build: meson's uninstalled .pc file
    when the build makes one, else one written here for the build tree."""
    env = dict(os.environ)
    env["PKG_CONFIG_PATH"] = os.path.join(build, "meson-uninstalled")
    if subprocess.run(["pkg-config", "--exists", "manta"], env=env).returncode == 0:
        return env["PKG_CONFIG_PATH"]
    folder = os.path.join(work, ".pkgconfig")
    os.makedirs(folder)
    with open(os.path.join(folder, "manta.pc"), "w") as f:
        f.write("Name: manta\nDescription: Manta (build tree)\nVersion: 0\n"
                f"Cflags: -I{source_root}/runtime\n"
                f"Libs: {build}/libmanta.a -lcaf_core -lcaf_io -lcaf_openssl -lssl -lcrypto "
                "-lcapnp -lkj -lpthread\n")
    return folder


def main():
    source_root, build = sys.argv[1], sys.argv[2]
    with open(os.path.join(source_root, "docs", "tutorial.md")) as f:
        blocks = BLOCK.findall(f.read())
    if not any(lang == "sh" for lang, _, _ in blocks):
        print("FAIL: no `sh tutorial:...` blocks found in docs/tutorial.md")
        return 1
    top = tempfile.mkdtemp(prefix="manta-tutorial-")
    work = os.path.join(top, "work")
    os.makedirs(work)
    port = free_port()
    env = dict(os.environ)
    env["PATH"] = os.path.join(build, "tools") + os.pathsep + env["PATH"]
    env["PKG_CONFIG_PATH"] = pkg_config_path(source_root, build, top)
    # Where a shared libmanta of the build is found when the program runs.
    env["LD_LIBRARY_PATH"] = build + os.pathsep + env.get("LD_LIBRARY_PATH", "")
    machines = {}
    output = None
    failed = None
    try:
        for n, (lang, tag, body) in enumerate(blocks, 1):
            if lang == "cpp":
                with open(os.path.join(work, tag), "a") as f:
                    f.write(body)
            elif lang == "sh":
                state = machines.setdefault(tag, os.path.join(top, f"{tag}.env"))
                run_env = dict(env, MANTA_RUNTIME_DIR=os.path.join(top, f"run-{tag}"))
                script = (f"[ -f {state} ] && . {state}\nset -e -o pipefail\n"
                          + localize(body, port) + f"\nexport -p > {state}\n")
                print(f"--- block {n} on {tag}:\n{localize(body, port)}", flush=True)
                try:
                    r = subprocess.run(["bash", "-c", script], cwd=work, env=run_env,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       text=True, timeout=BLOCK_TIMEOUT)
                except subprocess.TimeoutExpired as e:
                    failed = f"block {n} ran past {BLOCK_TIMEOUT} s:\n{e.output}"
                    break
                output = r.stdout
                print(output, end="", flush=True)
                if r.returncode != 0:
                    failed = f"block {n} on {tag} failed with exit code {r.returncode}"
                    break
            elif lang == "text" and tag == "expect":
                if output is None:
                    failed = f"block {n}: an expectation before any command"
                    break
                lines = output.splitlines()
                for want in localize(body, port).splitlines():
                    if want.strip() and not any(want.strip() in line for line in lines):
                        failed = f"block {n}: the output has no line with '{want.strip()}'"
                        break
                if failed:
                    break
    finally:
        for tag in machines:
            subprocess.run([os.path.join(build, "tools", "manta"), "stop"],
                           env=dict(env, MANTA_RUNTIME_DIR=os.path.join(top, f"run-{tag}")),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        shutil.rmtree(top, ignore_errors=True)
    if failed:
        print(f"FAIL: {failed}")
        return 1
    print(f"PASS: {len(blocks)} blocks of docs/tutorial.md ran as written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
