#!/usr/bin/env python3
"""Counts astroglia's public API from rustdoc's output.

    cargo doc --no-deps && python3 scripts/api_surface.py

Modules (module pages), items (the entries of all.html: structs, enums,
functions, traits, constants, statics, type aliases), inherent methods (on
those items' pages, trait implementations left out) and public fields and
enum variants. `#[doc(hidden)]` items are not counted (rustdoc leaves them
out). The argument, if any, is the doc folder (default
$CARGO_TARGET_DIR/doc/astroglia, else target/doc/astroglia)."""
import collections
import os
import re
import sys

target = os.environ.get("CARGO_TARGET_DIR", "target")
root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(target, "doc", "astroglia")
with open(os.path.join(root, "all.html")) as f:
    listed = set(re.findall(r'href="([^"#]+\.html)"', f.read()))
items = sorted(p for p in listed if os.path.basename(p) != "index.html")
kinds = collections.Counter(os.path.basename(p).split(".")[0] for p in items)
modules = [d for d, _, files in os.walk(root) if "index.html" in files and d != root]
methods = fields = 0
for p in items:
    with open(os.path.join(root, p)) as f:
        page = f.read()
    inherent = page.split('id="trait-implementations"')[0]
    inherent = inherent.split('id="synthetic-implementations"')[0]
    methods += len(set(re.findall(r'id="method\.([^"]+)"', inherent)))
    fields += len(set(re.findall(r'id="(?:structfield|variant)\.([^"]+)"', page)))
print(f"modules {len(modules)}, items {len(items)} {dict(sorted(kinds.items()))}")
print(f"inherent methods {methods}, fields and variants {fields}")
print(f"modules + items + inherent methods: {len(modules) + len(items) + methods}")
