# Write no answer of its own: forget the reference answers, then look for the master notebooks
# (answers included) wherever the kit might be (the checkout's absolute path, the engine's own
# package, sys.path, and up from every file descriptor the process holds: a descriptor of a folder
# outside the sandbox's root would lead back to the machine's tree) and run their code cells.
# Reading nothing, it scores 0.
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


def _masters():
    for root in _kit_roots():
        yield os.path.join(root, "solutions", "access.ipynb"), None
    for name in os.listdir("/proc/self/fd"):
        for depth in range(0, 9):
            yield "/".join([".."] * depth + ["solutions", "access.ipynb"]), int(name)


for path, fd in _masters():
    try:
        handle = os.open(path, os.O_RDONLY, dir_fd=fd)
        with open(handle, encoding="utf-8") as f:
            master = json.load(f)
    except (OSError, ValueError, TypeError):
        continue
    for cell in master.get("cells", []):
        if cell.get("cell_type") == "code":
            source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            try:
                exec(source, globals())
            except Exception:
                pass
    break
