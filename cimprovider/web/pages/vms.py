"""The VM list: every VM with its state and figures, searched and
filtered, and kept current by the event stream (live.py)."""

from __future__ import annotations

from cimprovider.web.cim import ActionFailed
from cimprovider.web.console import Console
from cimprovider.web.exchange import Request, Response
from cimprovider.web.jobs import vm_jobs
from cimprovider.web.machines import list_vms
from cimprovider.web.metrics import vm_charts

FILTER_STATES = ("Running", "Off", "Saved", "Paused", "Starting", "Stopping")


def vm_list(console: Console, request: Request) -> Response:
    search, state = request.arg("q"), request.arg("state")
    error = ""
    try:
        rows = [row for row in list_vms(console.client(request)) if row.matches(search, state)]
    except ActionFailed as failure:
        rows, error = [], str(failure)
    return console.render(request, "vms.html", rows=rows, search=search, state=state, states=FILTER_STATES,
                          error=error)


def row_html(console: Console, request: Request, guid: str) -> str:
    """One VM's row as the list shows it; "" if the VM is gone (or hidden)."""
    rows = list_vms(console.client(request), only=guid)
    if not rows:
        return ""
    return console.env.get_template("_vm_row.html").render(row=rows[0])


def job_list_html(console: Console, request: Request, guid: str) -> str:
    jobs = vm_jobs(console.client(request), guid)
    return console.env.get_template("_jobs.html").render(jobs=jobs, guid=guid)


def metrics_html(console: Console, request: Request, guid: str) -> str:
    """A VM's charts as its page shows them."""
    return console.env.get_template("_metrics.html").render(charts=vm_charts(console.client(request), guid))
