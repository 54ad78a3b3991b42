# The reference answers, plus a top-level cell that plants modules in the folder grading was started
# from (world-writable; the test names it): statistics.py (the reports import it), reports.py and an
# autograder/ package. Each would leave a mark in the test's folder if a grading process imported it.
# A working sandbox cannot even see that folder.
import os

P = __HOSTILE__
for rel in ("statistics.py", "reports.py", os.path.join("autograder", "__init__.py")):
    path = os.path.join(P["workdir"], rel)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(P["shim"])
    except OSError:
        pass
