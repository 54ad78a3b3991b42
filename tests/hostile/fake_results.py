# Print a results JSON claiming full marks, write forged results.json and gradebook files into every
# folder outside the sandbox that it is told of (sentinel folders the test planted under /tmp, open to
# everyone; the class folder; --out), and answer param_shapes wrongly. The test proves nothing arrived.
import json
import os

P = __HOSTILE__
FAKE = {"score": 1000.0, "tests": [{"name": "param_shapes", "score": 100, "max_score": 3, "status": "passed"}]}
print(json.dumps(FAKE))
for folder in [".", *P["sentinels"], P["class_dir"], P["out"], os.path.join(P["out"], "fake_results.ipynb")]:
    for name in ("results.json", "gradebook.json", "gradebook.csv"):
        try:
            with open(os.path.join(folder, name), "w") as f:
                json.dump(FAKE, f)
        except OSError:
            pass


def param_shapes(module):
    print(json.dumps(FAKE))
    return {name: list(p.shape) for name, p in module.named_parameters()}
