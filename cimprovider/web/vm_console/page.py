"""The console page: server-written HTML naming the VM's consoles; the
script (assets/console.js) fills each in. The VM page of the web console
embeds the same two elements and script in its own Console section."""

from __future__ import annotations

from html import escape


def console_elements(vm_id: str, heading_level: int = 2) -> str:
    """The Console section's content, for any page that shows a VM (under
    a heading one level up from `heading_level`)."""
    vm = escape(vm_id, quote=True)
    h = f"h{heading_level}"
    return f"""<section class="console-part" aria-labelledby="serial-heading-{vm}">
  <{h} id="serial-heading-{vm}">Serial console (COM1)</{h}>
  <div data-serial-console data-vm="{vm}"></div>
</section>
<section class="console-part" aria-labelledby="screen-heading-{vm}">
  <{h} id="screen-heading-{vm}">Screen</{h}>
  <div data-screen-console data-vm="{vm}"></div>
</section>"""


def console_page(vm_id: str, may_write: bool) -> str:
    mode = "" if may_write else '<p class="console-note">You are signed in as a reader: you see the consoles but cannot type into them.</p>'
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Console of VM {escape(vm_id)}</title>
<link rel="stylesheet" href="/ui/console/vendor/xterm/css/xterm.css">
<link rel="stylesheet" href="/ui/console/assets/console.css">
<script type="module" async src="/ui/console/assets/console.js"></script>
</head>
<body class="console-page">
<main>
<h1>Console of VM {escape(vm_id)}</h1>
{mode}
{console_elements(vm_id)}
</main>
</body>
</html>
"""
