# Write no answer of its own: forget the reference answers, then look for the master notebooks
# (answers included) wherever the kit might be (the checkout's absolute path, the engine's own
# package, sys.path) and run their code cells. Reading nothing, it scores 0.
import json
import os
import sys

P = __HOSTILE__
for name in ("param_shapes", "count_parameters", "get_parameter", "block1", "block2", "build_rgnet",
             "FrozenHiddenMLP", "shared_names"):
    globals().pop(name, None)


def _kit_roots():
    roots = [P["checkout"]]
    try:
        import autograder

        roots.append(os.path.dirname(os.path.dirname(os.path.abspath(autograder.__file__))))
    except Exception:
        pass
    for entry in sys.path:
        if entry:
            roots += [entry, os.path.dirname(entry)]
    return list(dict.fromkeys(roots))


for root in _kit_roots():
    try:
        with open(os.path.join(root, "solutions", "access.ipynb"), encoding="utf-8") as f:
            master = json.load(f)
    except (OSError, ValueError):
        continue
    for cell in master.get("cells", []):
        if cell.get("cell_type") == "code":
            source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            try:
                exec(source, globals())
            except Exception:
                pass
    break
