# shared_names compares values (as d2l's check does), not identity
def shared_names(module):
    items = list(module.named_parameters(remove_duplicate=False))
    groups, used = [], set()
    for i, (name, param) in enumerate(items):
        if name in used:
            continue
        group = [name] + [other for other, q in items[i + 1:]
                          if q.shape == param.shape and torch.equal(q.data, param.data)]
        used.update(group)
        if len(group) > 1:
            groups.append(group)
    return groups
