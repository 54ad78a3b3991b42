# shared_names allocates until the memory limit stops it: touched pages, not just reserved.
def shared_names(module):
    hoard = []
    while True:
        hoard.append(bytearray(64 * 2**20))
