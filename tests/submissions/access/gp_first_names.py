# get_parameter knows only the first name of a shared parameter
def get_parameter(module, name):
    return dict(module.named_parameters())[name]
