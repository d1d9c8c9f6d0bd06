"""A VM's figures as small charts, drawn on the server as SVG (no chart
library, nothing to fetch): the processor load history the summary
information carries (code 102, the sampler's intervals) and the memory
in use against the memory assigned."""

from __future__ import annotations

from dataclasses import dataclass

from cimprovider.web.cim import ActionFailed, CIMClient
from cimprovider.web.hardware import MEMORY, settings_of
from cimprovider.web.machines import service, vssd_path

WIDTH, HEIGHT = 240, 48


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    summary: str  # the figures in words, for screen readers and as the caption
    svg: str


def sparkline(values: list[int], title: str) -> str:
    """A polyline of percentages (0–100), oldest on the left."""
    if len(values) < 2:
        values = (values or [0]) * 2
    step = WIDTH / (len(values) - 1)
    points = " ".join(f"{i * step:.1f},{HEIGHT - max(0, min(100, v)) * HEIGHT / 100:.1f}" for i, v in enumerate(values))
    return (f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
            f'aria-label="{title}"><rect class="frame" x="0" y="0" width="{WIDTH}" height="{HEIGHT}"/>'
            f'<polyline class="line" points="{points}"/></svg>')


def bar(used: int, total: int, title: str) -> str:
    share = 0 if total <= 0 else min(1.0, used / total)
    return (f'<svg class="chart" viewBox="0 0 {WIDTH} 16" width="{WIDTH}" height="16" role="img" aria-label="{title}">'
            f'<rect class="frame" x="0" y="0" width="{WIDTH}" height="16"/>'
            f'<rect class="fill" x="0" y="0" width="{share * WIDTH:.1f}" height="16"/></svg>')


def vm_charts(client: CIMClient, guid: str) -> list[Chart]:
    try:
        _, out = client.invoke(service(client), "GetSummaryInformation", SettingData=[vssd_path(guid)],
                               RequestedInformation=[102, 103, 4])
    except ActionFailed:
        return []
    summaries = out.get("SummaryInformation") or []
    if not summaries:
        return []
    summary = summaries[0]
    history = [int(v) for v in summary.get("ProcessorLoadHistory") or []]
    charts = []
    last = history[-1] if history else 0
    charts.append(Chart("Processor load", f"{last} % now, {len(history)} samples",
                        sparkline(history, f"Processor load history, {last} % now")))
    memory = int(summary.get("MemoryUsage") or 0)
    assigned = _assigned_memory(client, guid)
    charts.append(Chart("Memory in use", f"{memory} MB of {assigned} MB",
                        bar(memory, assigned, f"Memory in use: {memory} MB of {assigned} MB")))
    return charts


def _assigned_memory(client: CIMClient, guid: str) -> int:
    found = settings_of(client, guid, MEMORY)
    return int(found[0].get("VirtualQuantity") or 0) if found else 0
