"""The production retraining trigger, on Argo Workflows through Argo Events, set by params.yaml alone.

`monitoring.retrain_event: <name>`: MonitorFlow, running on Argo Workflows, publishes that event when its verdict is
drift or degraded (before the run stops on the verdict), and TrainingFlow, deployed with the same params.yaml,
listens for it (`@trigger`): its `data_md5` payload field becomes the run's `--data-md5`, the data version the
retraining run reads from the DVC remote. A pod has no git history, so a git revision (`--data-rev`) cannot travel
in an event; an md5 in the DVC remote can. Runs started by hand publish nothing and listen to nothing
(`make retrain` retrains locally). A named event rather than `@trigger_on_finish(flow="MonitorFlow")`: that fires when
the monitor succeeds, and a monitor that finds drift fails.
"""

import os

from ..config import SCHEDULES
from ..errors import ProjectError

NEEDS_ACTION = ("drift", "degraded")
DATA_FIELD = "data_md5"  # the payload field mapped to TrainingFlow's data-md5 (Argo: letters, digits and _ only)


class RetrainNotRequested(ProjectError, RuntimeError):
    """The verdict asked for retraining, but the event could not be published."""

    headline = "Retraining event not published"


def trigger_event(name: str) -> dict:
    """TrainingFlow's `@trigger(event=...)`: the event's name and the payload field its data-md5 parameter takes."""
    return {"name": name, "parameters": {"data-md5": DATA_FIELD}}


def schedule_arguments(schedule: str) -> dict:
    """MonitorFlow's `@schedule(...)` for monitoring.schedule: a flag (hourly, daily, weekly) or a cron expression."""
    return {schedule: True} if schedule in SCHEDULES else {"cron": schedule}


def on_argo() -> bool:
    """True inside a run of a deployed Argo WorkflowTemplate (Metaflow sets this variable in every step's pod)."""
    return bool(os.environ.get("ARGO_WORKFLOW_TEMPLATE"))


def payload(verdict: str, model: str, mlflow_model_version: str, monitor_run: str, data_md5: str = "") -> dict:
    """What the event carries: the verdict, the model judged and the monitor run (for people reading the event), and
    the data version to retrain on when one is named; without it, the triggered run trains on the version its
    deployed code's pointer pins."""
    facts = {"verdict": verdict, "model_version": model, "mlflow_model_version": mlflow_model_version}
    return facts | {"monitor_run": monitor_run} | ({DATA_FIELD: data_md5} if data_md5 else {})


def request_retraining(event: str | None, facts: dict, running_on_argo: bool, url: str | None = None) -> str:
    """Publish `event` with `facts` when the verdict needs action and this run is on Argo Workflows; the line to
    print either way ("" when the verdict needs nothing). A failed publication raises: the retraining it asked for
    would otherwise be lost silently. `url`: the Argo Events webhook (default: Metaflow's configuration)."""
    verdict = facts["verdict"]
    if verdict not in NEEDS_ACTION:
        return ""
    if not event:
        return f"{verdict}: no retraining event (monitoring.retrain_event); retrain: make retrain BATCH=<labelled rows>"
    if not running_on_argo:
        return f"{verdict}: retraining event {event} not published (only a run on Argo Workflows publishes it)"
    from metaflow.integrations import ArgoEvent
    from metaflow.plugins.argo.argo_events import ArgoEventException

    try:
        event_id = ArgoEvent(event, **({"url": url} if url else {})).publish(facts, ignore_errors=False)
    except ArgoEventException as err:
        raise RetrainNotRequested(f"verdict {verdict}: {err}") from None
    data = facts.get(DATA_FIELD, "the version the deployed code pins")
    return f"{verdict}: retraining event {event} published (id {event_id}); data to retrain on: {data}"
