"""``python hang_in_checkpoint_write.py STEP ARGS...`` runs ``python -m prodvae ARGS...`` and
hangs, for good, halfway through writing the ``state.pt`` of the checkpoint of step ``STEP``.

The test that starts it kills it with SIGKILL once it prints :data:`PAUSED`, so the kill lands
inside the write every time: ``model.safetensors`` is complete, ``state.pt`` holds half its
bytes, and the temporary folder has not been renamed into place. The library carries no hook
for this; the script replaces ``torch.save`` in its own process only.
"""

from __future__ import annotations

import io
import os
import runpy
import sys
import time
from pathlib import Path

import torch

PAUSED = "hang_in_checkpoint_write: paused inside the write"


def _hang_while_saving(step: int):
    save = torch.save

    def save_half_then_hang(obj, f, *args, **kwargs):
        is_path = isinstance(f, (str, os.PathLike))
        if not (is_path and Path(f).parent.name.startswith(f".tmp-step_{step:08d}-")):
            return save(obj, f, *args, **kwargs)
        buffer = io.BytesIO()
        save(obj, buffer, *args, **kwargs)
        data = buffer.getvalue()
        with open(f, "wb") as out:
            out.write(data[: len(data) // 2])
            out.flush()
            os.fsync(out.fileno())
        print(PAUSED, flush=True)
        while True:
            time.sleep(60)

    return save_half_then_hang


if __name__ == "__main__":
    torch.save = _hang_while_saving(int(sys.argv.pop(1)))
    sys.argv[0] = "prodvae"
    runpy.run_module("prodvae", run_name="__main__", alter_sys=True)
