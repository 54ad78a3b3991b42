# Top-level cells that hang and exit: they are skipped, nothing else is lost.
import os
# %%
while True:
    pass
# %%
os._exit(3)
# %%
print("still running")
