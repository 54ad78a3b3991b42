# shared_names looks for shared modules only: a Parameter put into two different layers is missed
def shared_names(module):
    by_module = {}
    for name, m in module.named_modules(remove_duplicate=False):
        by_module.setdefault(id(m), (m, []))[1].append(name)
    groups = []
    for m, names in by_module.values():
        if len(names) > 1:
            for pname, _ in m.named_parameters(recurse=False):
                groups.append([f"{n}.{pname}" if n else pname for n in names])
    order = [n for n, _ in module.named_parameters(remove_duplicate=False)]
    return sorted(groups, key=lambda g: order.index(g[0]))
