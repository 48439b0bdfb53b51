"""When to try a failed delivery again."""

from __future__ import annotations

import random
from dataclasses import dataclass

# Like Svix: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after the first attempt.
DEFAULT_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)


@dataclass(frozen=True)
class RetryPolicy:
    schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    jitter: float = 0.1  # +-10%, so retries of a burst do not arrive in lockstep
    lease_seconds: float = 60.0  # longest an attempt may take before another worker may retry it
    max_retry_after: float = 86400.0  # a receiver cannot park a delivery for longer than this

    def delay(self, attempts: int, retry_after: float | None) -> float | None:
        """Seconds until the next attempt after ``attempts`` failed ones, or None when exhausted.

        A receiver's Retry-After replaces the scheduled delay (it knows when it
        will be back), but never grants more attempts than the schedule has.
        """
        if attempts < 1 or attempts > len(self.schedule):
            return None
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        base = self.schedule[attempts - 1]
        return base * random.uniform(1 - self.jitter, 1 + self.jitter)
