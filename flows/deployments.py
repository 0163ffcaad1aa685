"""The two deployments of `ct-seds-student-contacts`, served by `ctseds serve`.

- `nightly-refresh`: cron schedule ($CTSEDS_NIGHTLY_CRON, default "0 2 * * *", in
  $CTSEDS_TIMEZONE, default America/New_York); loads the
  extract folder $CTSEDS_EXTRACTS when it is set, then builds; no export.
- `export`: no schedule (run it from the UI); builds and writes the three files into the
  export folder ($CTSEDS_EXPORT_DIR, default exports/), named after D and the flow run.

Runs never overlap on one warehouse: each deployment has a concurrency limit of 1 (later runs
are enqueued), the served runner executes one run at a time, and every run holds the warehouse
lock (flows/ct_seds_flow.py), which also queues runs started from the command line.
"""

from __future__ import annotations

import os
from typing import Any

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import EntrypointType
from prefect.schedules import Cron

from flows.ct_seds_flow import ct_seds_student_contacts

DEFAULT_CRON = "0 2 * * *"
DEFAULT_TIMEZONE = "America/New_York"  # Connecticut; override with $CTSEDS_TIMEZONE
TAGS = ["ct-seds"]


def _one_at_a_time() -> ConcurrencyLimitConfig:
    return ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)


def nightly_parameters() -> dict[str, Any]:
    params: dict[str, Any] = {"export": False}
    if os.environ.get("CTSEDS_EXTRACTS"):
        params["extracts"] = os.environ["CTSEDS_EXTRACTS"]
    if os.environ.get("CTSEDS_TARGET") in ("duckdb", "postgres"):
        params["target"] = os.environ["CTSEDS_TARGET"]
    return params


def export_parameters() -> dict[str, Any]:
    params: dict[str, Any] = {"export": True}
    if os.environ.get("CTSEDS_TARGET") in ("duckdb", "postgres"):
        params["target"] = os.environ["CTSEDS_TARGET"]
    return params


# Parameters that may arrive as JSON numbers (the UI, `run_deployment`, the REST API): the flow
# turns them into text, but the server checks parameters against the deployment's schema
# before it creates a run, and the flow's schema says "array of strings".
_TEXT_OR_NUMBER_LISTS = ("schools", "students")


def _accept_numbers(deployment: Any) -> Any:
    """Let school numbers / student identifiers be JSON numbers or text in the deployment's
    parameter schema (enforced by the server), like the flow itself accepts them."""
    schema = getattr(deployment, "_parameter_openapi_schema", None)
    props = getattr(schema, "properties", None)
    if not isinstance(props, dict):
        return deployment
    for name in _TEXT_OR_NUMBER_LISTS:
        for option in props.get(name, {}).get("anyOf", [props.get(name, {})]):
            if option.get("type") == "array" and option.get("items") == {"type": "string"}:
                option["items"] = {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    return deployment


def build_deployments() -> list[Any]:
    nightly = ct_seds_student_contacts.to_deployment(
        name="nightly-refresh",
        schedules=[
            Cron(
                os.environ.get("CTSEDS_NIGHTLY_CRON") or DEFAULT_CRON,
                timezone=os.environ.get("CTSEDS_TIMEZONE") or DEFAULT_TIMEZONE,
            )
        ],
        entrypoint_type=EntrypointType.MODULE_PATH,
        parameters=nightly_parameters(),
        concurrency_limit=_one_at_a_time(),
        description="Load the nightly extract (when $CTSEDS_EXTRACTS is set) and rebuild the "
        "warehouse for today. No export.",
        tags=TAGS,
    )
    export = ct_seds_student_contacts.to_deployment(
        name="export",
        entrypoint_type=EntrypointType.MODULE_PATH,
        parameters=export_parameters(),
        concurrency_limit=_one_at_a_time(),
        description="Build for the chosen report date and write the export, exceptions and "
        "summary files into the export folder.",
        tags=TAGS,
    )
    return [_accept_numbers(nightly), _accept_numbers(export)]


def serve() -> None:
    """Serve both deployments until stopped (Ctrl-C)."""
    from prefect import serve as prefect_serve

    prefect_serve(*build_deployments(), limit=1)


if __name__ == "__main__":
    serve()
