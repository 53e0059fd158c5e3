"""circlet.runner: the agent that claims jobs from a circlet server and runs their steps on this host.

It talks to the server only over HTTP (``circlet.protocol``)."""

from __future__ import annotations

from circlet.runner.agent import run_agent
from circlet.runner.client import Lease, LeaseLost, RunnerClient, RunnerClientError
from circlet.runner.sweep import WorkDirBusy

__all__ = ["Lease", "LeaseLost", "RunnerClient", "RunnerClientError", "WorkDirBusy", "run_agent"]
