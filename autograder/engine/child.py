"""The child: runs the student's cells, then answers the parent's probe programs.

This file is public and generic: it knows no question, no expected value and no
verdict. It runs as an unprivileged user in an empty directory with resource
limits (see ``sandbox.py``), reads requests from one pipe and writes plain-data
answers to another; the student's prints go to stdout/stderr, which are not the
channel, so nothing printed can pass for an answer.

A probe program is a list of steps over named slots, for example::

    [{"op": "build", "spec": {...}, "seed": 7, "out": "m"},
     {"op": "name", "name": "param_shapes", "out": "f"},
     {"op": "call", "fn": "f", "args": [{"slot": "m"}], "out": "r"},
     {"op": "return", "slot": "r", "ret": true},
     {"op": "snapshot", "slot": "m", "out": "snap", "ret": true}]

It answers exactly the steps marked ``ret``, keyed by slot name (``{"r": ..., "snap": ...}``),
and the student's exception that stopped the program, if any, under ``raised``.
"""
from __future__ import annotations

import builtins
import os
import resource
import signal
import sys
from typing import TYPE_CHECKING, Any, Callable, Literal

from . import codec, framing, snapshot, specs, values

if TYPE_CHECKING:
    from types import ModuleType


class Timeout(BaseException):
    """Raised in the student's code when its time is up (a BaseException so that
    a bare ``except Exception`` in the student's code does not swallow it)."""


class StepError(Exception):
    """A probe step is malformed (a bug in a grader, not the student's fault)."""


def _alarm(signum: int, frame: object) -> None:
    raise Timeout("time limit reached")


class SGD:
    """What ``torch.optim.SGD(params, lr)`` does (no momentum, no weight decay), with its refusals, without
    ``torch.optim``: an optimizer's first use imports ``torch._dynamo``, most of a second of a cold
    grading that the student's own code never asked for."""

    def __init__(self, params: Any, lr: float) -> None:
        import torch

        if isinstance(params, torch.Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {torch.typename(params)}")
        self.params = list(params)
        if not self.params:
            raise ValueError("optimizer got an empty parameter list")
        for q in self.params:
            if not isinstance(q, torch.Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {torch.typename(q)}")
            if not (q.is_leaf or q.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        self.lr = lr

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``None``, as ``torch.optim`` does by default)."""
        for q in self.params:
            q.grad = None

    def step(self) -> None:
        """One update: each parameter with a gradient moves by ``-lr`` times it."""
        import torch

        with torch.no_grad():
            for q in self.params:  # a parameter listed twice is updated twice, as torch.optim.SGD does
                if q.grad is not None:
                    q.add_(q.grad, alpha=-self.lr)


class Child:
    """The student's namespace and the two pipes: runs cells and probe programs as the parent asks."""

    def __init__(self, rfd: int, wfd: int) -> None:
        self.rfd, self.wfd = rfd, wfd
        self.ns: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
        self._blobs: list[bytes] = []  # the blobs of the request being served

    # ------------------------------------------------------------ cells
    def exec_cells(self, cells: list[str], skip: list[int], limit: float) -> None:
        """Run the cells not in ``skip`` in order, each within ``limit`` seconds; a frame before and after each."""
        for i, source in enumerate(cells):
            if i in skip:
                continue
            framing.write_frame(self.wfd, {"event": "cell", "index": i})
            status: dict[str, Any] = {"ok": True}
            try:
                code = compile(source, f"<cell {i + 1}>", "exec")
                with deadline(limit):
                    exec(code, self.ns)
            except BaseException as exc:  # a failing cell keeps what it bound; the next cells still run
                status = {"ok": False, "error": codec.raised(exc)}
                if isinstance(exc, Timeout):
                    status["timeout"] = True
            _flush()
            framing.write_frame(self.wfd, {"event": "cell_done", "index": i, **status})

    # ------------------------------------------------------------ programs
    def run_program(self, steps: list[dict[str, Any]], limit: float) -> None:
        """Run a probe program within ``limit`` seconds and answer its ``ret`` steps in one frame."""
        import torch

        enc = codec.Encoder()
        slots: dict[str, Any] = {}
        results: dict[str, dict[str, Any]] = {}  # answers keyed by the slot the parent asked for (steps with "ret")
        raised: dict[str, Any] | None = None
        status = "ok"

        def arg(node: Any) -> Any:
            if isinstance(node, dict) and "slot" in node:
                return slots[node["slot"]]
            return self.decode_arg(node, blobs)

        blobs = self._blobs
        try:
            with deadline(limit):
                for step in steps:
                    op = step["op"]
                    try:
                        value = self.step(op, step, slots, arg, enc, torch)
                        if "out" in step:
                            slots[step["out"]] = value
                        if step.get("ret"):
                            results[_answer_key(step)] = self.encode_result(value, enc)
                    except (Timeout, StepError):
                        raise
                    except values.Refusal as exc:  # the kit cannot take the value: never the call's own exception
                        raised = codec.raised(exc)
                        status = "raised"
                        break
                    except BaseException as exc:  # the student's code failed this step
                        if step.get("catch") and op in ("call", "method", "torch", "sgd", "walk"):
                            slots[step["out"]] = _Caught(exc)
                            if step.get("ret"):
                                results[_answer_key(step)] = self.encode_result(slots[step["out"]], enc)
                            continue
                        raised = codec.raised(exc)
                        status = "raised"
                        break
        except Timeout:
            status = "timeout"
        except StepError as exc:
            status = "bad_step"
            raised = {"t": "raised", "type": "StepError", "message": str(exc)}
        _flush()
        try:
            framing.write_frame(self.wfd, {"event": "program_done", "status": status, "results": results,
                                           "raised": raised}, enc.blobs)
        except (TypeError, ValueError) as exc:  # e.g. a value JSON cannot hold
            framing.write_frame(self.wfd, {"event": "program_done", "status": "raised", "results": {}, "raised":
                codec.raised(values.Refusal("unsendable", error=f"{type(exc).__name__}: {exc}"))})

    def encode_result(self, value: Any, enc: codec.Encoder) -> dict[str, Any]:
        """An answering step's value as a node: a caught exception, a snapshot, or the value itself."""
        if isinstance(value, _Caught):
            return codec.raised(value.exc)
        if isinstance(value, _Snap):
            return snapshot.take(value.module, enc)
        return enc.encode(value)

    def decode_arg(self, node: Any, blobs: list[bytes]) -> Any:
        """A probe argument from the parent, as plain objects (tensors as tensors)."""
        return _plain(codec.decode(node, blobs))

    def step(self, op: str, step: dict[str, Any], slots: dict[str, Any], arg: Callable[[Any], Any],
             enc: codec.Encoder, torch: ModuleType) -> Any:
        """Run one probe step and return its value (a malformed step is a ``StepError``)."""
        if op == "seed":
            # the CPU generator, all torch draws from here: torch.manual_seed also queues a lazy seeding of
            # CUDA, XPU and MTIA, each with a captured stack, a millisecond per probe on a CPU-only machine
            torch.default_generator.manual_seed(int(step["seed"]))
            return None
        if op == "build":
            return specs.build(step["spec"], step.get("seed"))
        if op == "value":
            return arg(step["value"])
        if op == "name":
            name = step["name"]
            if name not in self.ns:
                raise NameError(f"name '{name}' is not defined")
            return self.ns[name]
        if op == "call":
            fn = slots[step["fn"]]
            args = [arg(a) for a in step.get("args", [])]
            kwargs = {k: arg(a) for k, a in step.get("kwargs", {}).items()}
            if step.get("no_grad"):
                with torch.no_grad():
                    return fn(*args, **kwargs)
            return fn(*args, **kwargs)
        if op == "method":
            obj = slots[step["slot"]]
            args = [arg(a) for a in step.get("args", [])]
            kwargs = {k: arg(a) for k, a in step.get("kwargs", {}).items()}
            return getattr(obj, step["name"])(*args, **kwargs)
        if op == "getattr":
            return getattr(slots[step["slot"]], step["name"])
        if op == "walk":  # what is registered under a dotted name: Module.__getattr__ for each component
            path = step["path"]
            if not (isinstance(path, list) and all(type(part) is str for part in path)):
                raise StepError("a walk step's path is a list of names")
            obj = slots[step["slot"]]
            for part in path:
                obj = obj.__getattr__(part)
            return obj
        if op == "getitem":
            return slots[step["slot"]][arg(step["key"])]
        if op == "sgd":
            return SGD(slots[step["slot"]], float(step["lr"]))
        if op == "torch":  # a function of torch by dotted path, e.g. "nn.functional.mse_loss"
            fn = torch
            for part in step["path"].split("."):
                fn = getattr(fn, part)
            args = [arg(a) for a in step.get("args", [])]
            kwargs = {k: arg(a) for k, a in step.get("kwargs", {}).items()}
            return fn(*args, **kwargs)
        if op == "same":
            return slots[step["a"]] is slots[step["b"]]
        if op == "count_calls":  # forward with hooks counting each submodule's calls, by submodule identity
            module = slots[step["slot"]]
            counts: dict[int, int] = {}
            handles = []
            for _, m in module.named_modules():
                key = enc.ids.of(m)
                handles.append(m.register_forward_hook(
                    lambda mod, i, o, key=key: counts.__setitem__(key, counts.get(key, 0) + 1)))
            try:
                out = module(*[arg(a) for a in step.get("args", [])])
            finally:
                for h in handles:
                    h.remove()
            if "forward_out" in step:
                slots[step["forward_out"]] = out
            return [[k, v] for k, v in counts.items()]
        if op == "snapshot":
            return _Snap(slots[step["slot"]])
        if op == "return":
            return slots[step["slot"]]
        raise StepError(f"unknown probe step {op!r}")

    # ------------------------------------------------------------ main loop
    def serve(self) -> None:
        """Answer the parent's requests until it says exit or closes the pipe."""
        while True:
            try:
                request, self._blobs = framing.read_frame(self.rfd)
            except framing.ChannelError:
                return
            cmd = request.get("cmd")
            if cmd == "exec":
                self.exec_cells(request["cells"], request.get("skip", []), request["limit"])
                framing.write_frame(self.wfd, {"event": "exec_done"})
            elif cmd == "program":
                self.run_program(request["steps"], request["limit"])
            elif cmd == "exit":
                return


def _plain(value: Any) -> Any:
    """Arguments from the parent: tensors as tensors, containers rebuilt around them."""
    if isinstance(value, values.TensorRef):
        return value.data.clone()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if type(value) in (list, tuple):
            return type(value)(_plain(v) for v in value)
        return tuple(_plain(v) for v in value)  # a TorchSize (a tuple subclass) comes back a plain tuple
    return value


def _answer_key(step: dict[str, Any]) -> str:
    """The slot an answering step answers for: its own output, or the slot a "return" step names."""
    key: str = step["out"] if "out" in step else step["slot"]
    return key


class _Caught:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class _Snap:
    def __init__(self, module: Any) -> None:
        self.module = module


class deadline:
    """Interrupt the student's code with ``Timeout`` after ``seconds`` (the parent kills it if that fails)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __enter__(self) -> None:
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, max(self.seconds, 0.01))

    def __exit__(self, *exc: object) -> Literal[False]:
        signal.setitimer(signal.ITIMER_REAL, 0)
        return False


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


def _vm_bytes() -> int:
    # Not psutil (its memory_info().vms: 0.010 ms, this read 0.018 ms, once per child): child-side files
    # import only the standard library, torch and numpy (tests/unit/test_architecture.py)
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _limit(which: int, value: int) -> None:
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    try:
        resource.setrlimit(which, (value, value))
    except (ValueError, OSError):
        pass


def close_inherited(keep: set[int]) -> None:
    """Close every file descriptor of this process but stdin, stdout, stderr and ``keep``.

    bwrap leaves open the descriptors it bound paths from (``--ro-bind-fd``: the venv, ``/usr``, the
    kit's files), and a descriptor of a directory outside the sandbox's root is a way out of its view:
    ``openat(fd, "..")`` walks up the machine's own tree, to the checkout and its solutions. Nothing
    after start-up needs them (the mounts stay), so they go before any student code runs."""
    keep = keep | {0, 1, 2}
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:  # the listing's own descriptor, closed already
                pass


def _die_with_parent() -> None:
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass
    if os.getppid() == 1:
        os._exit(1)


# What a notebook's cells may start that costs a cold child most of a second (by name: the text in the
# cells that asks for it), and how to start it before the child reports ready: while the parent still
# imports its graders, on the other core.
WARMERS = {"optim": "optim", "pyplot": "matplotlib"}


def warmers_for(cells: list[str]) -> tuple[str, ...]:
    """The ``WARMERS`` a submission's code cells ask for (the parent decides, before the child starts)."""
    text = "\n".join(cells)
    return tuple(name for name, needle in WARMERS.items() if needle in text)


def warm(names: tuple[str, ...] | list[str]) -> None:
    """Import what ``names`` (from ``WARMERS``; others are ignored) stand for, before any student code."""
    if "optim" in names:  # an optimizer's first use imports torch._dynamo
        import torch

        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    # pyplot: imported, and a figure made and closed, never drawn. Grading never draws the notebooks'
    # figures (the Agg backend, whose plt.show() does nothing; layout="constrained" is computed at draw
    # time), and drawing one here put fonts and mathtext (0.18 s and their memory) on a cold `tied`
    # grading's critical path for nothing. A cell that does draw pays for them itself.
    if "pyplot" in names:
        try:
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(2, 2))  # a d2l-style plot, never drawn (see above)
            ax.plot([1, 2], [1, 10], label="0")
            ax.set_yscale("log")
            ax.legend()
            plt.close(fig)
        except Exception:  # no matplotlib in this venv: the student's import will say so
            pass


def _forget_engine() -> None:
    """Drop the engine's modules from ``sys.modules``: the engine keeps the module objects it
    already holds, and a cell that imports ``autograder.engine.snapshot`` to patch it gets a fresh
    copy that the engine never calls. (A student who digs the real objects out of the garbage
    collector can still break their own answers; the graders confirm what matters by behaviour.)"""
    for name in [m for m in sys.modules if m == "autograder" or m.startswith("autograder.")]:
        del sys.modules[name]


def main(rfd: int, wfd: int, memory: int, processes: int, die_with_parent: bool = False,
         warmers: tuple[str, ...] = ()) -> None:
    """Entry point in the child process: imports, limits, then serve the parent.

    ``die_with_parent`` for a plain (``--insecure``) child; an isolated one is pid 1 of its pid
    namespace, ended by bwrap's ``--die-with-parent`` or with its zygote's namespace.
    """
    if die_with_parent:
        _die_with_parent()
    close_inherited({rfd, wfd})
    os.environ.pop("PWD", None)  # bwrap's --chdir sets it; the environment stays the minimal one
    import torch  # before the limits: importing torch is the engine's cost, not the student's

    torch.set_num_threads(1)
    os.environ.setdefault("MPLBACKEND", "Agg")
    warm(warmers)  # the engine's cost too, like torch
    # The memory limit is what the student's code may add on top of Python with torch loaded.
    _limit(resource.RLIMIT_AS, _vm_bytes() + memory)
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_FSIZE, 64 * 2**20)
    _limit(resource.RLIMIT_NOFILE, 256)
    if processes > 0:
        _limit(resource.RLIMIT_NPROC, processes)
    os.set_inheritable(rfd, False)
    os.set_inheritable(wfd, False)
    if not die_with_parent:  # isolated (bwrap set no_new_privs): the filter goes on before any student code
        from . import seccomp

        seccomp.install()
    child = Child(rfd, wfd)
    _forget_engine()
    framing.write_frame(wfd, {"event": "ready", "pid": os.getpid()})
    child.serve()
    _flush()
    os._exit(0)
