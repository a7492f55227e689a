"""SIGTERM as Ctrl-C: `timeout`, `kill`, a stopped container or a cancelled CI job send
SIGTERM, whose default kills the process on the spot — with the customer's extracted bundle
left in the temp folder and a batch's workers running. Raised as KeyboardInterrupt, it
unwinds through every ``finally`` as Ctrl-C does."""
from __future__ import annotations

import signal
import threading


def term_as_interrupt():
    """Make SIGTERM raise KeyboardInterrupt. Returns the handler it replaced (to restore),
    or None when not in the main thread (where signal handlers cannot be set)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    return signal.signal(signal.SIGTERM, handler)
