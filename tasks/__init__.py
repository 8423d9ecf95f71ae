"""Thin Prefect tasks over deml/: one side effect each, retried only when it may help.

Every flow runs its tasks from here, in whichever process runs it: the CLI's, or the one
Prefect's runner starts for each scheduled run (`deml serve`, which loads the flow from its
file). Prefect gives its handlers to the loggers in PREFECT_LOGGING_EXTRA_LOGGERS (the CLI
names `deml`) but not a level: without one the chain client's INFO lines ("sending
commitVote from 0x…: tx 0x…") inherit the root's WARNING and never reach the run logs.
"""

import logging

logging.getLogger("deml").setLevel(logging.INFO)
