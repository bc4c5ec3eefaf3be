#!/usr/bin/python3
"""getenv.py: the environment is read only at a program's edge, its main
(docs/structure.md): libmaas and the programs' engine files take what they
need through their configs and setters, so a library user or a test says
everything explicitly and two callers in one process never disagree.
Exit 1 naming each getenv (or secure_getenv) outside the files below."""
import os, re, sys

top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
#  Each allowed file, and why it may read the environment.
ALLOWED = {
    "broker/main.c": "maas-broker's main: flags and environment into its config",
    "worker/main.c": "maas-worker's main",
    "trainer/main.c": "maas-trainer's main",
    "gateway/main.c": "maas-gateway's main",
    "client/main.c": "maas's main: log level, CurveZMQ keys for every broker command",
    "client/env.c": "what the maas commands read, once at each command's entry (client/env.h)",
}
#  Folders of programs of their own (each file a main) and of test code.
ALLOWED_FOLDERS = ("tests/", "bench/")
SKIP = ("build", ".git")
call = re.compile(r"\b(secure_)?getenv\s*\(")
#  Strings and comments, blanked (newlines kept, for line numbers): a
#  "getenv (" in a message or a comment is no call.
noise = re.compile(r'"(?:\\.|[^"\\\n])*"|//[^\n]*|/\*.*?\*/', re.S)


def blank(match):
    return "\n" * match.group(0).count("\n")


bad = 0
for folder, dirs, names in os.walk(top):
    rel_folder = os.path.relpath(folder, top)
    dirs[:] = [d for d in dirs if not d.startswith(SKIP)]
    for name in sorted(names):
        if not name.endswith(".c"):
            continue
        rel = os.path.normpath(os.path.join(rel_folder, name))
        if rel in ALLOWED or rel.startswith(ALLOWED_FOLDERS):
            continue
        text = noise.sub(blank, open(os.path.join(folder, name), encoding="utf-8").read())
        for match in call.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            print(f"getenv: {rel}:{line} reads the environment; only a main may "
                  "(pass the value through a config or setter)")
            bad = 1
sys.exit(bad)
