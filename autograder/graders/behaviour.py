"""Verdicts on identity and sharing, confirmed by behaviour and computed in the parent.

Everything the child reports about *which object is which* (the ``oid`` of a tensor or module in a
snapshot or an answer, the names in a snapshot, call counts keyed by module) is taken from the
child's word: a submission that patches the engine's objects inside its own process (found through
the garbage collector, say) can report any identities it likes. Values are different: a forward
pass on inputs the parent draws, after values the parent draws were written into the module, can
only come out as the parent predicts if the module really is wired as claimed. So the rules whose
verdict is an identity ("one Linear used twice", "nothing shared", "the very Parameter") first
judge the snapshot as before (for precise hints), then confirm it here:

- write parent-chosen values through names (``Parameter.data = value``: exactly the object
  registered under that name changes, whoever else holds it), read back what every name holds and
  run forward passes; the parent's own copy of the module, or its own model of the answer (an
  untied copy, the contract's formula), says what must come out;
- two instances built from different seeds, given the same values through every reported name, must
  compute the same output: a tensor the snapshot left out would still hold its own random values;
- scaling one layer's weight by 2 (biases set to zero, so that the ReLU net is homogeneous) scales
  the output by 2 per use of that layer: that counts uses without trusting call counts.

Writes never stop a program (``catch``): a name that does not resolve reads back as a ``Raised``.
All of this runs in the parent (trusted); the helpers only build probe programs and compare.
"""
from __future__ import annotations

import copy
import math
import random
from typing import Any, Callable, Iterable, Sequence

import torch

from ..engine.snapshot import Snapshot
from ..engine.student import Program, Slot
from ..engine.values import TensorRef
from ..i18n import _
from .checks import close
from .common import Case, build

Make = Callable[[Program], Slot]  # adds the steps that make the student's module, returns its slot

# ------------------------------------------------------------------ probe steps


def walk(p: Program, root: Slot, name: str) -> Slot:
    """The object registered under a dotted name: ``Module.__getattr__`` for each component (parameters
    and submodules, as ``named_parameters`` names them), in one step that cannot stop the program."""
    return p.walk(root, name.split(".")) if name else root


def write(p: Program, target: Slot, value: torch.Tensor) -> None:
    """``target.data = value`` in the child: the very object under ``target`` changes, no other one."""
    p.method(target, "__setattr__", "data", value, catch=True)


def forward(p: Program, module: Slot, x: torch.Tensor, seed: int) -> Slot:
    """``module(x)`` without gradients after seeding torch, answered (an exception is its value)."""
    p.seed(seed)  # the same randomness for every forward compared (a dropout would draw the same mask)
    return p.ret(p.call(module, x, no_grad=True, catch=True))


# ------------------------------------------------------------------ parent side


def set_value(module: torch.nn.Module, name: str, value: torch.Tensor) -> None:
    """The parent's own copy: what ``write`` does in the child."""
    obj: Any = module
    for part in name.split("."):
        obj = getattr(obj, part)
    obj.data = value.clone()


def values(rng: random.Random, shapes: Sequence[tuple[str, tuple[int, ...], torch.dtype]],
           scale: float = 0.5) -> dict[str, torch.Tensor]:
    """A random value per name (distinct with probability 1), drawn from ``rng``."""
    g = torch.Generator().manual_seed(rng.getrandbits(31))
    return {name: (torch.randn(shape, generator=g) * scale).to(dtype) for name, shape, dtype in shapes}


def sgd_step(module: torch.nn.Module, lr: float) -> None:
    """What one ``torch.optim.SGD(module.parameters(), lr).step()`` does (no momentum, no weight decay),
    without the optimizer: its first use imports ``torch._dynamo``, a second of a cold grading's parent."""
    with torch.no_grad():
        for q in module.parameters():
            if q.grad is not None:
                q.add_(q.grad, alpha=-lr)


def data(x: Any) -> torch.Tensor | None:
    """A ``TensorRef``'s values; None for anything else (or a lazy tensor)."""
    return x.data if isinstance(x, TensorRef) and isinstance(x.data, torch.Tensor) else None


def same(a: Any, b: torch.Tensor | None) -> bool:
    """Whether ``a`` (a tensor or a ``TensorRef``) and ``b`` are equal in shape, dtype and every value."""
    a = data(a) if not isinstance(a, torch.Tensor) else a
    return a is not None and b is not None and a.shape == b.shape and a.dtype == b.dtype and torch.equal(a, b)


def _same_forward(a: torch.Tensor | None, b: torch.Tensor | None) -> bool:
    """Whether two instances given the same values compute the same forward; outputs that cannot be
    compared (missing, of other shapes, not floating point) are the snapshot rules' business."""
    if a is None or b is None or a.shape != b.shape or not a.is_floating_point():
        return True
    return close(a, b.to(a.dtype), rtol=1e-5)


def readback_groups(names: Sequence[str], written: dict[str, torch.Tensor],
                    reads: dict[str, Any]) -> tuple[list[list[str]], list[str]]:
    """After a distinct value was written through every name (in order), what the names hold says which
    names reach one object: a name holding the value written through a later name shares with it.
    Returns the groups (two or more names, in ``names`` order) and the names holding none of the values
    written (a name that does not resolve, or a value changed on the way)."""
    parent = {n: n for n in names}

    def root(n: str) -> str:
        while parent[n] != n:
            n = parent[n]
        return n

    odd = []
    for n in names:
        hit = next((m for m in names if same(reads.get(n), written[m])), None)
        if hit is None:
            odd.append(n)
        elif hit != n:
            parent[root(n)] = root(hit)
    groups: dict[str, list[str]] = {}
    for n in names:
        if n not in odd:
            groups.setdefault(root(n), []).append(n)
    return [g for g in groups.values() if len(g) > 1], odd


def groups_of(module: torch.nn.Module) -> list[list[str]]:
    """The parent's own sharing: names of one Parameter object, for those with several."""
    by_id: dict[int, list[str]] = {}
    for n, q in module.named_parameters(remove_duplicate=False):
        by_id.setdefault(id(q), []).append(n)
    return [g for g in by_id.values() if len(g) > 1]


def snapshot_groups(snap: Snapshot) -> list[list[str]]:
    """Sharing as the child reported it: names with one oid."""
    return snap.shared_groups()


def _canon(groups: Iterable[Iterable[str]]) -> list[list[str]]:
    return sorted(sorted(g) for g in groups)


def untied_copy(module: torch.nn.Module) -> torch.nn.Module:
    """The parent's model of a right ``untie``: a deep copy in which every later name of a module gets its own copy."""
    new = copy.deepcopy(module)
    seen: dict[int, torch.nn.Module] = {id(new): new}

    def visit(m: torch.nn.Module) -> None:
        for name, child in list(m._modules.items()):
            if child is None:
                continue
            if id(child) in seen:
                child = copy.deepcopy(child)
                setattr(m, name, child)
            seen[id(child)] = child
            visit(child)

    visit(new)
    return new


def _shapes(module: torch.nn.Module) -> list[tuple[str, tuple[int, ...], torch.dtype]]:
    return [(n, tuple(q.shape), q.dtype) for n, q in module.named_parameters(remove_duplicate=False)]


def _snap_shapes(snap: Snapshot) -> list[tuple[str, tuple[int, ...], torch.dtype]] | None:
    """(name, shape, dtype) of every reported name; None when a parameter is lazy or of an odd dtype."""
    out = []
    for n, t in snap.named_params:
        dtype = getattr(torch, t.dtype, None) if isinstance(t.dtype, str) else None
        if t.shape is None or not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            return None
        out.append((n, tuple(t.shape), dtype))
    return out


def _in_features(module: torch.nn.Module) -> int | None:
    first = next((m for m in module.modules() if isinstance(m, torch.nn.Linear)), None)
    return first.in_features if first is not None else None


def _pair(groups: list[list[str]]) -> tuple[str, str]:
    g = sorted(groups, key=len)[0] if groups else ["?", "?"]
    return g[0], g[1]


# ------------------------------------------------------------------ modules the student builds


def confirm_parameters(student, rng: random.Random, make: Make, snap: Snapshot, x: torch.Tensor | None,
                       what: str, shared_hint: str, twins: bool = True) -> None:
    """Confirm by behaviour the parameters a snapshot of ``make``'s module reports: which of its names are one
    tensor (a distinct value written through every name, then read back through every name), and, with
    ``twins`` and an input ``x``, that nothing else the forward uses was left out (two instances from
    different seeds, given the same values through every name, compute the same output)."""
    shapes = _snap_shapes(snap)
    if not shapes:
        return  # lazy or empty: the snapshot rules judge that
    names = [n for n, _, _ in shapes]
    written = values(rng, shapes)
    seeds = [rng.getrandbits(31) for _ in range(3)]
    p = Program()
    reads, outs = {}, []
    for k, seed in enumerate(seeds[:2] if twins and x is not None else seeds[:1]):
        p.seed(seed)
        m = make(p)
        for n in names:
            write(p, walk(p, m, n), written[n])
        if k == 0:
            reads = {n: p.ret(walk(p, m, n)) for n in names}
        if x is not None:
            outs.append(forward(p, m, x, seeds[2]))
    result = student.run(p, what)
    reads = {n: result[s] for n, s in reads.items()}
    groups, odd = readback_groups(names, written, reads)
    assert not odd, (_("{what}: a value written into the parameter registered as {odd!r} did not show "
                       "under that name: every name named_parameters() gives must reach its parameter").format(
                         what=what, odd=odd[0]))
    claimed = snapshot_groups(snap)
    if _canon(groups) != _canon(claimed):
        apart = [g for g in claimed if not any(set(g) <= set(h) for h in groups)]
        if apart:
            a, b = _pair(apart)
            raise AssertionError(_("{a!r} and {b!r} are not one tensor: a change through {a!r} does "
                                   "not show under {b!r}. {shared_hint}").format(a=a, b=b, shared_hint=shared_hint))
        a, b = _pair([h for h in groups if not any(set(h) <= set(g) for g in claimed)])
        raise AssertionError(_("{a!r} and {b!r} are one tensor: a change through one shows under the "
                               "other. {shared_hint}").format(a=a, b=b, shared_hint=shared_hint))
    if len(outs) == 2:
        assert _same_forward(*(data(result[s]) for s in outs)), (
            _("{what}: its output depends on tensors that are not among its parameters (two "
              "instances given the same values through every parameter name compute different "
              "outputs). {shared_hint}").format(what=what, shared_hint=shared_hint))


def confirm_uses(student, rng: random.Random, make: Make, snap: Snapshot, x: torch.Tensor,
                 uses: dict[str, tuple[str, int]], what: str) -> dict[str, float] | None:
    """Count how often the forward applies each layer, from values alone: every weight random, every bias 0,
    so a ReLU net is positively homogeneous in each weight; doubling one weight (through its first name
    only) multiplies the output by 2 per use. ``uses``: label -> (weight name, expected uses). Returns the
    uses measured by label, or None when the probe says nothing (a lazy parameter, a zero output)."""
    shapes = _snap_shapes(snap)
    if not shapes:
        return None
    g = torch.Generator().manual_seed(rng.getrandbits(31))
    oid_of = {n: t.oid for n, t in snap.named_params}
    first: dict[int, torch.Tensor] = {}
    for n, shape, dtype in shapes:  # the same value through every name the snapshot calls one tensor
        if oid_of[n] not in first:
            fan_in = shape[1] if len(shape) == 2 else 1
            v = torch.randn(shape, generator=g) / math.sqrt(fan_in) if len(shape) >= 2 else torch.zeros(shape)
            first[oid_of[n]] = v.to(dtype)
    written = {n: first[oid_of[n]] for n, _, _ in shapes}
    seed = rng.getrandbits(31)
    p = Program()
    m = make(p)
    for n, v in written.items():
        write(p, walk(p, m, n), v)
    base = forward(p, m, x, seed)
    scaled = {}
    for label, (name, _unused) in uses.items():
        if name not in written:
            return None
        target = walk(p, m, name)
        write(p, target, written[name] * 2)
        scaled[label] = forward(p, m, x, seed)
        write(p, target, written[name])
    result = student.run(p, what)
    y = data(result[base])
    if y is None or not y.is_floating_point() or not bool(torch.isfinite(y).all()) or float(y.double().norm()) == 0:
        return None  # the forward rules judge an output that is not a (non-zero) tensor
    measured = {}
    for label, slot in scaled.items():
        z = data(result[slot])
        ok = z is not None and z.shape == y.shape and z.is_floating_point() and bool(torch.isfinite(z).all()) \
            and float(z.double().norm()) > 0
        measured[label] = (math.log2(float(z.double().norm()) / float(y.double().norm())) if ok and z is not None
                           else float("nan"))
    return measured


def confirm_stays_tied(student, rng: random.Random, make: Make, snap: Snapshot, x: torch.Tensor, y: torch.Tensor,
                       lr: float, what: str, shared_hint: str) -> None:
    """After one torch.optim.SGD step, the names the snapshot calls one tensor still hold equal values, and two
    instances given the same values through every name take the same step (nothing left out of the snapshot)."""
    shapes = _snap_shapes(snap)
    if not shapes:
        return
    oid_of = {n: t.oid for n, t in snap.named_params}
    by_oid: dict[int, torch.Tensor] = {}
    fresh = values(rng, shapes)
    written = {n: by_oid.setdefault(oid_of[n], fresh[n]) for n, _, _ in shapes}
    seeds = [rng.getrandbits(31) for _ in range(3)]
    p = Program()
    reads, outs = {}, []
    for k in range(2):
        p.seed(seeds[k])
        m = make(p)
        for n, v in written.items():
            write(p, walk(p, m, n), v)
        p.seed(seeds[2])
        opt = p.sgd(p.method(m, "parameters", catch=True), lr, catch=True)
        p.method(opt, "zero_grad", catch=True)
        loss = p.torch("nn.functional.mse_loss", p.call(m, x, catch=True), y, catch=True)
        p.method(loss, "backward", catch=True)
        p.method(opt, "step", catch=True)
        if k == 0:
            reads = {n: p.ret(walk(p, m, n)) for n in written}
        outs.append(forward(p, m, x, seeds[2]))
    result = student.run(p, what)
    values_read = {n: data(result[s]) for n, s in reads.items()}
    for group in snapshot_groups(snap):
        held = [values_read.get(n) for n in group]
        if any(h is None for h in held):
            continue  # the step or the names failed: the snapshot rules judge that
        apart = [n for n, h in zip(group, held, strict=True) if not same(h, held[0])]
        assert not apart, (_("after an optimizer step {group!r} and {apart!r} hold different values: "
                             "they are two tensors, not one. {shared_hint}").format(
                               group=group[0], apart=apart[0], shared_hint=shared_hint))
    assert _same_forward(*(data(result[s]) for s in outs)), (
        _("{what}: after an optimizer step its output depends on tensors that are not among its "
          "parameters (two instances given the same values through every parameter name differ). "
          "{shared_hint}").format(what=what, shared_hint=shared_hint))


# ------------------------------------------------------------------ modules the parent built (untie, train_shared_mlp)


def confirm_untied(student, rng: random.Random, cases: Sequence[tuple[Case, torch.Tensor]], fn: str = "untie") -> None:
    """``fn(net)`` shares nothing, inside it or with net: a distinct value written through every name of the
    result shows under that name only, net keeps its own values, and the result's forward is the parent's
    untied copy with those values (the forward only when it returns a tensor of the right shape: whether
    untie computes the right function is its own rule)."""
    p = Program()
    plan = []
    for case, x in cases:
        ref = build(case)
        shapes = _shapes(ref)
        names = [n for n, _, _ in shapes]
        written = values(rng, shapes)
        seed = rng.getrandbits(31)
        net = p.build(*case)
        new = p.call(fn, net, catch=True)
        for n in names:
            write(p, walk(p, new, n), written[n])
        reads = {n: p.ret(walk(p, new, n)) for n in names}
        kept = {n: p.ret(walk(p, net, n)) for n in names}
        plan.append((case, x, ref, names, written, reads, kept, forward(p, new, x, seed), forward(p, net, x, seed)))
    result = student.run(p, f"{fn}(net)")
    for _case, x, ref, names, written, reads, kept, out_new, out_net in plan:
        groups, odd = readback_groups(names, written, {n: result[s] for n, s in reads.items()})
        assert not odd, (_("a value written into {odd!r} of untie's result did not show under that "
                           "name: the result must have net's parameter names, each reaching its own "
                           "copy").format(odd=odd[0]))
        if groups:
            a, b = _pair(groups)
            raise AssertionError(_("{a!r} and {b!r} are still one object in untie's result (a change "
                                   "through one shows under the other): every name must get its own "
                                   "copy").format(a=a, b=b))
        original = dict(ref.named_parameters(remove_duplicate=False))
        changed = [n for n in names if not same(result[kept[n]], original[n].detach())]
        assert not changed, (_("untie's result shares parameters with net: writing into the result "
                               "changed net's {changed!r}; it must hold its own copies (copy.deepcopy "
                               "of the modules)").format(changed=changed[0]))
        with torch.no_grad():
            want_net = ref(x)
            model = untied_copy(ref)
            for n in names:
                set_value(model, n, written[n])
            want_new = model(x)
        got = data(result[out_net])
        assert got is None or close(got, want_net), (
            _("untie's result shares parameters with net: writing into the result changed net's output"))
        got = data(result[out_new])
        if got is not None and got.shape == want_new.shape:
            assert close(got, want_new), (_("untie's result does not compute with its own parameters: "
                                            "after a change under every name, its output is not that "
                                            "of an untied copy (every name must get its own copy, used "
                                            "where that name is used)"))


def confirm_same_objects(student, rng: random.Random, cases: Sequence[tuple[Case, torch.Tensor | None]],
                         act: Callable[[Program, Slot, Case], Any], what: str, hint: str) -> None:
    """After ``act`` (the student's call on net), net still holds the very Parameter objects it was built with,
    shared as built: values written through references taken *before* the call show, after it, under every
    name of the same parameter in the parent's own copy, and net's forward on ``x`` (unless None) is the
    parent's copy's with them."""
    p = Program()
    plan = []
    for case, x in cases:
        ref = build(case)
        shapes = _shapes(ref)
        names = [n for n, _, _ in shapes]
        written = values(rng, shapes)
        seed = rng.getrandbits(31)
        net = p.build(*case)
        held = {n: walk(p, net, n) for n in names}  # the objects net was built with
        act(p, net, case)
        for n in names:
            write(p, held[n], written[n])
        reads = {n: p.ret(walk(p, net, n)) for n in names}
        plan.append((x, ref, names, written, reads, forward(p, net, x, seed) if x is not None else None))
    result = student.run(p, what)
    for x, ref, names, written, reads, out in plan:
        for n in names:
            set_value(ref, n, written[n])
        expected = dict(ref.named_parameters(remove_duplicate=False))
        wrong = [n for n in names if not same(result[reads[n]], expected[n].detach())]
        if wrong:
            others = [n for g in groups_of(ref) if wrong[0] in g for n in g if n != wrong[0]]
            raise AssertionError(_("{hint} ({wrong!r} no longer reaches the Parameter it was built with").format(
                                     hint=hint, wrong=wrong[0])
                                 + (_(", shared with {others!r})").format(others=others[0]) if others else ")"))
        if x is None:
            continue
        with torch.no_grad():
            want = ref(x)
        got = data(result[out])
        assert got is None or close(got, want), hint + _(" (its output is not that of its own "
                                                         "parameters)")


def confirm_unchanged(student, rng: random.Random, cases: Sequence[tuple[Case, torch.Tensor]],
                      act: Callable[[Program, Slot, Case], Any], what: str, hint: str) -> None:
    """After ``act`` (the student's call on net), net computes what the parent's own copy computes: its values
    are unchanged (a snapshot could report values saved before the call; a forward pass uses the real ones)."""
    p = Program()
    plan = []
    for case, x in cases:
        net = p.build(*case)
        act(p, net, case)
        plan.append((case, x, forward(p, net, x, rng.getrandbits(31))))
    result = student.run(p, what)
    for case, x, out in plan:
        with torch.no_grad():
            want = build(case)(x)
        got = data(result[out])
        assert got is None or close(got, want), hint


def confirm_returns_net(student, rng: random.Random, cases: Sequence[tuple[Case, int | None]],
                        call: Callable[[Program, Slot, int | None], Slot], what: str, hint: str) -> None:
    """``call`` returns net itself (``same`` is the child's word): a value written through every name of what it
    returned shows under that name in net. ``cases``: (case, n), n the width of a float32 input that
    materializes the lazy modules of the parent's copy (None when it has none), passed on to ``call``."""
    p = Program()
    plan = []
    for case, width in cases:
        ref = build(case)
        if width is not None:
            with torch.no_grad():
                ref(torch.zeros(2, width))
        shapes = _shapes(ref)
        written = values(rng, shapes)
        net = p.build(*case)
        out = call(p, net, width)
        reads = {}
        for n, _shape, _dtype in shapes:
            write(p, walk(p, out, n), written[n])
            reads[n] = p.ret(walk(p, net, n))
        plan.append((written, reads))
    result = student.run(p, what)
    for written, reads in plan:
        for n, v in written.items():
            assert same(result[reads[n]], v), hint


# ------------------------------------------------------------------ access: get_parameter


def confirm_get_parameter(student, rng: random.Random, cases: Sequence[Case]) -> None:
    """``get_parameter(module, name)`` returns the registered Parameter itself: a value written into what it
    returned shows under that name in the module, and the module's forward (on the parent's input) is the
    parent's copy's after the same writes."""
    p = Program()
    plan = []
    for case in cases:
        ref = build(case)
        shapes = _shapes(ref)
        names = [n for n, _, _ in shapes]
        written = values(rng, shapes)
        m = p.build(*case)
        reads = {}
        for n in names:
            write(p, p.call("get_parameter", m, n, catch=True), written[n])
            reads[n] = p.ret(walk(p, m, n))
        width = _in_features(ref)
        fixed = any(type(s).__name__ == "FixedHiddenMLP" for s in ref.modules())  # halving loop: rounding-sensitive
        g = torch.Generator().manual_seed(rng.getrandbits(31))
        x = None if width is None or fixed else torch.randn(rng.randint(2, 5), width, generator=g)
        out = forward(p, m, x, rng.getrandbits(31)) if x is not None else None
        plan.append((ref, names, written, reads, x, out))
    result = student.run(p, "get_parameter(...)")
    for ref, names, written, reads, x, out in plan:
        for n in names:
            assert same(result[reads[n]], written[n]), (
                _("a change made through what get_parameter(module, {n!r}) returned did not reach the "
                  "module: return the very Parameter registered under that name (not a copy)").format(n=n))
            set_value(ref, n, written[n])
        if x is not None:
            with torch.no_grad():
                want = ref(x)
            got = data(result[out])
            assert got is None or close(got, want), (
                _("a change made through what get_parameter returned did not reach the module's "
                  "forward: return the very Parameter registered under each name (not a copy)"))


# ------------------------------------------------------------------ access: FrozenHiddenMLP's buffer


FROZEN_HINTS = {
    "params": lambda: _("values written through parameters() (torch.nn.utils.vector_to_parameters) changed more "
                        "than linear.weight and linear.bias: rand_weight must be a buffer (register_buffer), not a "
                        "parameter, and linear.weight, linear.bias the only parameters"),
    "loaded": lambda: _("a FrozenHiddenMLP that loads another's state_dict() does not compute what that one "
                        "computes: rand_weight must be saved and loaded with the module's state (register_buffer, "
                        "persistent)"),
    "follows_to": lambda: _("after .to(torch.float64) the forward does not compute in float64: rand_weight must be "
                            "a buffer (register_buffer), which follows the module; a plain tensor attribute stays "
                            "behind"),
}


def confirm_frozen(student, rng: random.Random, *checks: str) -> None:
    """Fail with its hint the first of ``checks`` (keys of ``FROZEN_HINTS``) that ``probe_frozen`` finds False.
    The probe answers every check at once: it runs once per question, for whichever of its rules asks first."""
    seen = student.observe("probe_frozen", lambda: probe_frozen(student, rng))
    for check in checks:
        assert seen[check] is not False, FROZEN_HINTS[check]()


def probe_frozen(student, rng: random.Random, cls: str = "FrozenHiddenMLP") -> dict[str, bool | None]:
    """Where ``rand_weight`` lives, judged by the student's own forward on the parent's input (the snapshot's
    parameter, buffer and state_dict lists are the child's word). Every comparison is between two forwards of
    the student's own module that a right answer computes with the very same values (so they are equal up to
    rounding whatever the forward is), and that a wrong one computes with different values:

    - A (one seed) gets (R, W, b) by ``load_state_dict(strict=False)``; D (another seed) loads A's
      ``state_dict()``: unless rand_weight is saved and loaded with the module's state, D keeps its own
      torch.rand values (``loaded``);
    - B (A's seed) gets (R, other values) as A did, then ``vector_to_parameters(W, b, Z)`` through its
      ``parameters()``: only when those are exactly linear.weight then linear.bias does B compute what A does
      (``params``: a Parameter rand_weight takes the first slice, or the last);
    - A ``.to(torch.float64)`` on the input in float64 computes A's output in float64 (``follows_to``: a
      plain tensor attribute stays float32, and the forward raises or stays float32). The halving loop may
      halve once more or less in the other precision: a factor 2 is allowed there.

    Inputs and values are positive, so every ReLU passes, the output depends on every value, and nothing cancels.
    A value is None when the probe says nothing (A's forward is not a non-zero 0-d float32 tensor: the forward
    rule judges that)."""
    g = torch.Generator().manual_seed(rng.getrandbits(31))
    x = torch.rand(rng.randint(2, 5), 20, generator=g)
    rw = torch.rand(20, 20, generator=g)
    w, b = torch.rand(20, 20, generator=g) * 0.3, torch.rand(20, generator=g) * 0.3
    other_w, other_b = torch.rand(20, 20, generator=g) * 0.3, torch.rand(20, generator=g) * 0.3
    z = torch.rand(400, generator=g)
    seed, seed2, fseed = rng.getrandbits(31), rng.getrandbits(31), rng.getrandbits(31)
    p = Program()

    def make(s: int, w_: torch.Tensor, b_: torch.Tensor) -> Slot:
        p.seed(s)  # whatever is not loaded comes from the seed
        m = p.call(cls, catch=True)
        p.method(m, "load_state_dict", {"rand_weight": rw, "linear.weight": w_, "linear.bias": b_},
                 strict=False, catch=True)
        return m

    a = make(seed, w, b)
    out_a = forward(p, a, x, fseed)
    m_b = make(seed, other_w, other_b)
    p.torch("nn.utils.vector_to_parameters", torch.cat([w.flatten(), b, z]), p.method(m_b, "parameters", catch=True),
            catch=True)
    out_b = forward(p, m_b, x, fseed)
    p.seed(seed2)
    m_d = p.call(cls, catch=True)
    p.method(m_d, "load_state_dict", p.method(a, "state_dict", catch=True), strict=False, catch=True)
    out_d = forward(p, m_d, x, fseed)
    p.method(a, "to", torch.float64, catch=True)
    out_64 = forward(p, a, x.double(), fseed)
    result = student.run(p, f"{cls}()")
    ya = data(result[out_a])
    if ya is None or ya.shape != () or ya.dtype != torch.float32 or not bool(torch.isfinite(ya)) or float(ya) == 0:
        return {"params": None, "loaded": None, "follows_to": None}
    y64 = data(result[out_64])
    return {"params": close(result[out_b], ya, rtol=1e-5),
            "loaded": close(result[out_d], ya, rtol=1e-5),
            "follows_to": y64 is not None and y64.dtype == torch.float64
            and any(close(y64 * k, ya.double(), rtol=1e-4) for k in (1, 2, 0.5))}


# ------------------------------------------------------------------ names a contract fixes


def confirm_names(student, rng: random.Random, make: Make, shapes: Sequence[tuple[str, tuple[int, ...], torch.dtype]],
                  x: torch.Tensor, what: str) -> None:
    """The names a contract fixes (``shapes``: name, shape, dtype, in ``named_parameters`` order) are the module's
    parameters, in that order (the snapshot's names are the child's word). A distinct value written through
    every name reads back under that name right after its write (so a shared parameter is not counted twice);
    and when no name shows another's value at the end (nothing shared: the sharing rule judges that), an
    instance given the values through the names computes what one given them through ``parameters()``
    (``torch.nn.utils.vector_to_parameters``, in the contract's order) computes: both are the student's own
    forward, so only the names and their order are judged, not what the forward computes."""
    names = [n for n, _, _ in shapes]
    written = values(rng, shapes)
    seed, fseed = rng.getrandbits(31), rng.getrandbits(31)
    p = Program()
    p.seed(seed)
    m = make(p)
    right_after = {}
    for n in names:
        target = walk(p, m, n)
        write(p, target, written[n])
        right_after[n] = p.ret(walk(p, m, n))
    at_end = {n: p.ret(walk(p, m, n)) for n in names}
    out_names = forward(p, m, x, fseed)
    p.seed(seed)
    m2 = make(p)
    p.torch("nn.utils.vector_to_parameters", torch.cat([written[n].flatten() for n in names]),
            p.method(m2, "parameters", catch=True), catch=True)
    out_order = forward(p, m2, x, fseed)
    result = student.run(p, what)
    wrong = [n for n in names if not same(result[right_after[n]], written[n])]
    assert not wrong, (_("{what}: a value written into the parameter named {name!r} did not show under that "
                         "name: the module must have a parameter under each of the names the exercise "
                         "gives").format(what=what, name=wrong[0]))
    if any(not same(result[at_end[n]], written[n]) for n in names):
        return  # names reach one tensor: the sharing rule judges that
    a, b = data(result[out_names]), data(result[out_order])
    if a is None or not a.is_floating_point() or not bool(torch.isfinite(a).all()):
        return  # the forward rule judges a forward that fails
    assert close(b, a, rtol=1e-5), (
        _("{what}: values given through parameters() in the exercise's order do not act as the same values "
          "given through the names: the parameters must be exactly those names, in that order").format(what=what))


# ------------------------------------------------------------------ init: in place, as leaves that train


def confirm_trains(student, rng: random.Random, cases: Sequence[Case], act: Callable[[Program, Slot, Case], Any],
                   what: str) -> None:
    """After ``act`` (the student's initializer on a single ``nn.Linear`` built from each case), the module's
    parameters are leaves of their dtype that train as the case says (the snapshot's ``is_leaf``, ``grad_fn``,
    ``.grad``, ``requires_grad`` and dtype are the child's word). Whatever values the initializer chose, for
    ``loss = (m(x) * c).sum()`` on parent-drawn x and c, the gradient is ``c.T @ x`` for the weight and
    ``c.sum(0)`` for the bias (None for a frozen one): a non-leaf, a tensor with history, a leftover .grad,
    a changed requires_grad or dtype give another (or none). And one ``torch.optim.SGD(m.parameters(), lr)``
    step moves ``m(x2)`` by ``-lr * (x2 @ gW.T + gb)`` exactly: a detached copy registered elsewhere does not."""
    p = Program()
    plan = []
    lr = 0.5
    for spec, seed in cases:
        dtype = getattr(torch, spec.get("dtype", "float32"))
        frozen = set(spec.get("frozen", []))
        g = torch.Generator().manual_seed(rng.getrandbits(31))
        n_in, n_out = spec["in"], spec["out"]
        x = torch.randn(rng.randint(2, 5), n_in, generator=g, dtype=dtype)
        c = torch.randn(x.shape[0], n_out, generator=g, dtype=dtype)
        x2 = torch.randn(rng.randint(2, 5), n_in, generator=g, dtype=dtype)
        fseed = rng.getrandbits(31)
        m = p.build(spec, seed)
        act(p, m, (spec, seed))
        before = forward(p, m, x2, fseed)
        loss = p.method(p.method(p.call(m, x, catch=True), "mul", c, catch=True), "sum", catch=True)
        p.method(loss, "backward", catch=True)
        names = ["weight"] + (["bias"] if spec.get("bias", True) else [])
        grads = {n: p.ret(p.method(walk(p, m, n), "__getattribute__", "grad", catch=True)) for n in names}
        opt = p.sgd(p.method(m, "parameters", catch=True), lr, catch=True)
        p.method(opt, "step", catch=True)
        after = forward(p, m, x2, fseed)
        grad_of = {"weight": c.T @ x, "bias": c.sum(0)}
        want: dict[str, torch.Tensor | None] = {n: None if n in frozen else grad_of[n] for n in names}
        plan.append((dtype, n_out, x2, want, grads, before, after))
    result = student.run(p, what)
    for dtype, n_out, x2, want, grads, before, after in plan:
        for pname, w in want.items():
            got = result[grads[pname]]
            got_data = data(got)
            ok = got is None if w is None else (got_data is not None and got_data.dtype == dtype
                                                and close(got, w, rtol=1e-4))
            assert ok, (_("after {what}, a backward pass through the module did not give {pname!r} the gradient "
                          "a leaf Parameter of its dtype and requires_grad gets (none when frozen): keep "
                          "requires_grad and the dtype, leave no autograd history and no .grad (change values "
                          "under torch.no_grad())").format(what=what, pname=pname))
        a, b = data(result[before]), data(result[after])
        step = torch.zeros(x2.shape[0], n_out, dtype=dtype)
        if want["weight"] is not None:
            step -= lr * x2 @ want["weight"].T
        bias_grad = want.get("bias")
        if bias_grad is not None:
            step -= lr * bias_grad
        ok = a is not None and b is not None and a.dtype == dtype and b.dtype == dtype and a.shape == b.shape \
            and close(b - a, step, rtol=1e-6 if dtype == torch.float64 else 1e-3)
        assert ok, (_("after {what}, an optimizer step on the module's parameters() did not change its output as "
                      "it must: the module must keep computing with its own leaf Parameters, of their dtype and "
                      "requires_grad").format(what=what))


def confirm_trains_net(student, rng: random.Random, cases: Sequence[tuple[dict, int, int]],
                       act: Callable[[Program, Slot, torch.Tensor], Any], what: str) -> None:
    """``confirm_trains`` for a net of several layers, whose gradients depend on the values the student's code
    chose: after ``act`` (given an example input) on each (spec, seed, input width), the values read back under
    every name are put into the parent's own copy (lazy modules materialized); the net's forward on the parent's
    input must be the copy's (so the values read back are the ones it computes with), and after a backward pass
    of ``(net(x) * c).sum()`` and one ``torch.optim.SGD(net.parameters(), lr)`` step, its gradients (none for
    a frozen parameter) and its forward must be the copy's, whose parameters are leaves of the spec's dtype and
    requires_grad."""
    p = Program()
    plan = []
    lr = 0.1
    for spec, seed, width in cases:
        ref = build((spec, seed))
        dtype = next((q.dtype for q in ref.parameters() if not torch.nn.parameter.is_lazy(q)), torch.float32)
        g = torch.Generator().manual_seed(rng.getrandbits(31))
        example = torch.randn(rng.randint(2, 5), width, generator=g, dtype=dtype)
        with torch.no_grad():
            ref(example)  # materializes the copy's lazy modules (values are set from the net's below)
        x = torch.randn(rng.randint(2, 5), width, generator=g, dtype=dtype)
        x2 = torch.randn(rng.randint(2, 5), width, generator=g, dtype=dtype)
        with torch.no_grad():
            c = torch.randn(ref(x).shape, generator=g, dtype=dtype)
        fseed = rng.getrandbits(31)
        names = [n for n, _ in ref.named_parameters(remove_duplicate=False)]
        m = p.build(spec, seed)
        act(p, m, example)
        reads = {n: p.ret(walk(p, m, n)) for n in names}
        before = forward(p, m, x2, fseed)
        loss = p.method(p.method(p.call(m, x, catch=True), "mul", c, catch=True), "sum", catch=True)
        p.method(loss, "backward", catch=True)
        grads = {n: p.ret(p.method(walk(p, m, n), "__getattribute__", "grad", catch=True)) for n in names}
        opt = p.sgd(p.method(m, "parameters", catch=True), lr, catch=True)
        p.method(opt, "step", catch=True)
        after = forward(p, m, x2, fseed)
        plan.append((ref, names, x, x2, c, reads, before, grads, after))
    result = student.run(p, what)
    step_hint = _("after {what}, an optimizer step on the module's parameters() did not change its output as it "
                  "must: the module must keep computing with its own leaf Parameters, of their dtype and "
                  "requires_grad").format(what=what)
    for ref, names, x, x2, c, reads, before, grads, after in plan:
        own = dict(ref.named_parameters(remove_duplicate=False))
        rtol = 1e-6 if own[names[0]].dtype == torch.float64 else 1e-4
        for n in names:
            v = data(result[reads[n]])
            assert v is not None and v.dtype == own[n].dtype and v.shape == own[n].shape, step_hint
            set_value(ref, n, v)
        with torch.no_grad():
            want_before = ref(x2)
        assert close(result[before], want_before, rtol=rtol), step_hint
        (ref(x) * c).sum().backward()
        for n in names:
            want, got = own[n].grad, result[grads[n]]
            got_data = data(got)
            ok = got is None if want is None else (got_data is not None and got_data.dtype == want.dtype
                                                   and close(got, want, rtol=max(rtol, 1e-4)))
            assert ok, (_("after {what}, a backward pass through the module did not give {pname!r} the gradient "
                          "a leaf Parameter of its dtype and requires_grad gets (none when frozen): keep "
                          "requires_grad and the dtype, leave no autograd history and no .grad (change values "
                          "under torch.no_grad())").format(what=what, pname=n))
        sgd_step(ref, lr)
        with torch.no_grad():
            want_after = ref(x2)
        assert close(result[after], want_after, rtol=max(rtol, 1e-4)), step_hint
