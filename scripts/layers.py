#!/usr/bin/python3
"""layers.py: libmaas's folders are layers (docs/structure.md): a file may
include headers of its own folder and of lower ones, never of a higher
one, and headers include each other without a circle. Exit 1 naming each
offending include."""
import os, re, sys

LAYERS = ["base", "nn", "format", "redis", "wire", "."]   # lowest first; "." is shared/ itself
top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "shared")
where = {}                      # header name -> layer
files = []
for layer in LAYERS:
    folder = os.path.join(top, layer)
    for name in sorted(os.listdir(folder)):
        if name.endswith((".c", ".h")):
            files.append((layer, name, os.path.join(folder, name)))
            if name.endswith(".h"):
                where[name] = layer
include = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
bad = 0
graph = {}
for layer, name, path in files:
    deps = [h for h in include.findall(open(path, encoding="utf-8").read()) if h in where]
    if name.endswith(".h"):
        graph[name] = deps
    for h in deps:
        if LAYERS.index(where[h]) > LAYERS.index(layer):
            print(f"layers: shared/{layer}/{name} includes {h} from the higher shared/{where[h]}/")
            bad = 1
state = {}
def visit(node, trail):
    if state.get(node) == "done":
        return
    if state.get(node) == "open":
        print("layers: include circle: " + " -> ".join(trail + [node]))
        global bad
        bad = 1
        return
    state[node] = "open"
    for dep in graph.get(node, []):
        visit(dep, trail + [node])
    state[node] = "done"
for node in graph:
    visit(node, [])
sys.exit(bad)
