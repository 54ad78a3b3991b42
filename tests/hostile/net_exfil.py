# count_parameters is the reference answer, but first it tries to send what it knows to listeners
# the test opened on this machine: TCP on 127.0.0.1 and ::1, UDP on 127.0.0.1, an abstract Unix
# socket. Any connection that succeeds makes it raise (and the test checks its listeners).
import socket

P = __HOSTILE__
_reached = None


def _exfiltrate():
    reached = []
    targets = [(socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", P["tcp4"]))]
    if P.get("tcp6"):
        targets.append((socket.AF_INET6, socket.SOCK_STREAM, ("::1", P["tcp6"])))
    targets.append((socket.AF_UNIX, socket.SOCK_STREAM, "\0" + P["unix"]))
    for family, kind, address in targets:
        try:
            with socket.socket(family, kind) as s:
                s.settimeout(2)
                s.connect(address)
                s.sendall(b"exfiltrated by net_exfil")
                reached.append(repr(address))
        except OSError:
            pass
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"exfiltrated by net_exfil", ("127.0.0.1", P["udp4"]))
    except OSError:
        pass
    return reached


def count_parameters(module, trainable_only=False):
    global _reached
    if _reached is None:
        _reached = _exfiltrate()
    if _reached:
        raise RuntimeError(f"connected out of the sandbox to {', '.join(_reached)}")
    total = 0
    for name, param in module.named_parameters():
        if nn.parameter.is_lazy(param):
            raise ValueError(f"parameter {name!r} is not initialized yet")
        if param.requires_grad or not trainable_only:
            total += param.numel()
    return total
