"""Run every benchmark: `python -m bench` (add --quick for a short run)."""

from __future__ import annotations

import platform
import sys

from bench import (
    checkout_step,
    engine_step,
    notices,
    scaleout,
    slack_step,
    staff_confirm,
    staff_stats,
    stripe_webhooks,
    sweep,
    telegram_step,
)


def main() -> None:
    quick = "--quick" in sys.argv
    print(
        f"machine: {platform.machine()}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )
    engine_step.main(quick)
    telegram_step.main(quick)
    slack_step.main(quick)
    stripe_webhooks.main(quick)
    checkout_step.main(quick)
    sweep.main(quick)
    staff_confirm.main(quick)
    scaleout.main(quick)
    staff_stats.main(quick)
    notices.main(quick)


main()
