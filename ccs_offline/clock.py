"""The offline world's one clock: real time, sped up `scale` times for everything that only waits.

The stand-ins (the emulator, the local CloudFormation, the ResponseURL server, the Lambda service) read it;
the Lambda-like process runs on the same time because lambda_bootstrap.py speeds up its `time` module before
the handler loads, so the handler's own clock (timing.system_clock) keeps the world's pace without knowing.
What AWS does in seconds (a state that lasts 0.2 s, IAM's 40 s of propagation, a poll every second, a
ServiceTimeout) is in world seconds. Sockets still time out in real seconds (botocore's connect and read
timeouts), and so does crhelper's last-moment timer (a threading.Timer): tests that prove those run at
scale 1 (`pytest.mark.real_time`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ccs_offline.lambda_bootstrap import ENV_EPOCH, ENV_SCALE, world_time


@dataclass(frozen=True)
class WorldClock:
    """Seconds of the offline world: `scale` of them pass in each real second."""

    scale: float = 1.0
    epoch: float = field(default_factory=time.time)  #: the real wall time at which world time equals it
    _origin: float = field(default_factory=time.monotonic)

    def now(self) -> float:
        """World seconds on a monotonic clock."""
        return world_time(time.monotonic(), self._origin, self.scale)

    def wall(self) -> float:
        """World time as epoch seconds (what the Lambda-like process's time.time() says)."""
        return world_time(time.time(), self.epoch, self.scale)

    def sleep(self, seconds: float) -> None:
        """Let `seconds` of world time pass."""
        time.sleep(self.real(max(0.0, seconds)))

    def real(self, seconds: float) -> float:
        """Real seconds that `seconds` of world time take."""
        return seconds / self.scale

    def environment(self) -> dict[str, str]:
        """What the Lambda-like process needs to keep the world's time."""
        return {} if self.scale == 1 else {ENV_SCALE: repr(self.scale), ENV_EPOCH: repr(self.epoch)}


REAL_TIME = WorldClock()
