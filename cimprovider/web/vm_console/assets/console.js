// The VM's consoles in the page: the serial console (COM1) in xterm.js,
// its text mirrored into a log for screen readers, and the screen in
// noVNC. Both talk to the server's own websockets with a ticket fetched
// for this session just before connecting. Elements carrying
// data-serial-console / data-screen-console and data-vm are filled in.
import { Terminal } from "../vendor/xterm/lib/xterm.mjs";
import { FitAddon } from "../vendor/xterm-addon-fit/lib/addon-fit.mjs";
import RFB from "../vendor/novnc/core/rfb.js";

const TRANSCRIPT_LINES = 500;

// The VM page announces state changes it hears from the server's event
// stream ("vm-state"); a console not connected connects once the VM runs.
function whenRunning(vm, connect) {
  document.addEventListener("vm-state", (event) => {
    const { id, state } = event.detail || {};
    if (String(id).toLowerCase() === `vm-${vm}`.toLowerCase() && /^running$/i.test(state || "")) connect();
  });
}
const CLOSE_REASONS = { 1006: "the connection was lost", 1008: "the server refused the console (sign in again)" };

class Refused extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function ticket(vm, kind) {
  const answer = await fetch(`/ui/console/vm/${encodeURIComponent(vm)}/${kind}/ticket`, { credentials: "same-origin" });
  if (!answer.ok) throw new Refused(answer.status, (await answer.text()).trim());
  return answer.json();
}

function socketUrl(vm, kind, granted) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ui/console/vm/${encodeURIComponent(vm)}/${kind}/socket?ticket=${encodeURIComponent(granted.ticket)}`;
}

function element(tag, attributes = {}, text = "") {
  const made = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) made.setAttribute(name, value);
  if (text) made.textContent = text;
  return made;
}

function closedBecause(event) {
  return event.reason || CLOSE_REASONS[event.code] || `closed (${event.code})`;
}

// The terminal's text as lines, for screen readers: escapes dropped,
// backspaces applied, each finished line appended (announced politely).
class Transcript {
  constructor(log) {
    this.log = log;
    this.partial = element("div");
    this.log.append(this.partial);
    this.decoder = new TextDecoder();
    this.escape = null;
  }
  write(bytes) {
    let line = this.partial.textContent;
    for (const ch of this.decoder.decode(bytes, { stream: true })) {
      if (this.escape !== null) {
        this.escape += ch;
        if (this.escape.length > 1 && (this.escape[0] !== "[" || /[@-~]/.test(ch))) this.escape = null;
      } else if (ch === "\x1b") this.escape = "";
      else if (ch === "\b") line = line.slice(0, -1);
      else if (ch === "\n") { this.finish(line); line = ""; }
      else if (ch >= " " || ch === "\t") line += ch;
    }
    this.partial.textContent = line;
  }
  finish(line) {
    const done = element("div", {}, line);
    this.log.insertBefore(done, this.partial);
    while (this.log.childElementCount > TRANSCRIPT_LINES) this.log.firstElementChild.remove();
  }
}

// The terminal takes Tab (the guest's shell completes with it), so the
// keyboard needs another way out: Escape then Tab moves on, Escape then
// Shift+Tab back (the Escape still reaches the guest, as in a real terminal).
function keepKeyboardWayOut(terminal, screen) {
  let escapedAt = 0;
  terminal.attachCustomKeyEventHandler((event) => {
    if (event.type !== "keydown") return true;
    if (event.key === "Escape") { escapedAt = Date.now(); return true; }
    if (["Shift", "Control", "Alt", "Meta"].includes(event.key)) return true;
    if (event.key === "Tab" && Date.now() - escapedAt < 2000) {
      event.preventDefault();
      escapedAt = 0;
      const focusable = [...document.querySelectorAll("a[href], button:not([disabled]), input, select, textarea, [tabindex]:not([tabindex='-1'])")]
        .filter((element) => !screen.contains(element) && element.offsetParent !== null);
      const after = focusable.filter((element) => screen.compareDocumentPosition(element) & Node.DOCUMENT_POSITION_FOLLOWING);
      const before = focusable.filter((element) => screen.compareDocumentPosition(element) & Node.DOCUMENT_POSITION_PRECEDING);
      const target = event.shiftKey ? before[before.length - 1] : after[0];
      if (target) target.focus(); else terminal.blur();
      return false;
    }
    escapedAt = 0;
    return true;
  });
}

export function mountSerialConsole(host, vm) {
  const status = element("p", { role: "status", class: "console-status" }, "Not connected.");
  const toolbar = element("div", { class: "console-toolbar" });
  const connect = element("button", { type: "button" }, "Connect to the serial console");
  toolbar.append(connect);
  const screen = element("div", { class: "serial-terminal", role: "group", "aria-label": "Serial console terminal" });
  const log = element("div", { role: "log", "aria-live": "polite", "aria-label": "Serial console text", class: "visually-hidden" });
  host.replaceChildren(status, toolbar, screen, log);
  const terminal = new Terminal({ convertEol: false, cursorBlink: true, scrollback: 2000, fontSize: 14 });
  const fit = new FitAddon();
  terminal.loadAddon(fit);
  terminal.open(screen);
  fit.fit();
  new ResizeObserver(() => fit.fit()).observe(screen);
  keepKeyboardWayOut(terminal, screen);
  const transcript = new Transcript(log);
  const encoder = new TextEncoder();
  let socket = null;
  let viewOnly = true;
  terminal.onData((data) => {
    if (socket && socket.readyState === WebSocket.OPEN && !viewOnly) socket.send(encoder.encode(data));
  });

  async function open() {
    connect.disabled = true;
    status.textContent = "Connecting…";
    let granted;
    try {
      granted = await ticket(vm, "serial");
    } catch (error) {
      status.textContent = `No serial console: ${error.message}`;
      connect.disabled = false;
      return;
    }
    viewOnly = granted.viewOnly;
    terminal.options.disableStdin = viewOnly;
    socket = new WebSocket(socketUrl(vm, "serial", granted));
    socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      status.textContent = viewOnly
        ? "Connected, read only: your role (reader) may watch but not type."
        : "Connected to COM1. Type into the terminal (Escape then Tab leaves it).";
      connect.textContent = "Reconnect";
      connect.disabled = false;
      if (!viewOnly) terminal.focus();
    };
    socket.onmessage = (event) => {
      const bytes = new Uint8Array(event.data);
      terminal.write(bytes);
      transcript.write(bytes);
    };
    socket.onclose = (event) => {
      status.textContent = `Disconnected: ${closedBecause(event)}.`;
      connect.disabled = false;
      socket = null;
    };
  }
  connect.addEventListener("click", () => {
    if (socket) { socket.onclose = null; socket.close(); socket = null; }
    open();
  });
  whenRunning(vm, () => { if (!socket && !connect.disabled) open(); });
  open();
  return { terminal, close: () => socket && socket.close() };
}

export function mountScreenConsole(host, vm) {
  const status = element("p", { role: "status", class: "console-status" }, "Not connected.");
  const toolbar = element("div", { class: "console-toolbar" });
  const connect = element("button", { type: "button" }, "Connect to the screen");
  const ctrlAltDel = element("button", { type: "button" }, "Send Ctrl+Alt+Del");
  ctrlAltDel.disabled = true;
  toolbar.append(connect, ctrlAltDel);
  const view = element("div", { class: "screen-view", role: "application", "aria-label": "VM screen" });
  host.replaceChildren(status, toolbar, view);
  let rfb = null;

  async function open() {
    connect.disabled = true;
    status.textContent = "Connecting…";
    let granted;
    try {
      granted = await ticket(vm, "graphics");
    } catch (error) {
      status.textContent = error.status === 404 ? `No screen: ${error.message}.` : `Cannot connect: ${error.message}`;
      connect.disabled = error.status === 404;
      // Nothing to show, nothing to press.
      toolbar.hidden = view.hidden = error.status === 404;
      return;
    }
    rfb = new RFB(view, socketUrl(vm, "graphics", granted), { wsProtocols: ["binary"], shared: true });
    rfb.viewOnly = granted.viewOnly;
    rfb.scaleViewport = true;
    rfb.addEventListener("connect", () => {
      status.textContent = granted.viewOnly ? "Showing the screen, read only (reader role)." : "Showing the screen.";
      ctrlAltDel.disabled = granted.viewOnly;
      connect.textContent = "Reconnect";
      connect.disabled = false;
    });
    const current = rfb;
    rfb.addEventListener("disconnect", (event) => {
      if (rfb !== current) return; // replaced by a reconnection
      status.textContent = event.detail.clean ? "Disconnected." : "Disconnected: the connection was lost or refused.";
      ctrlAltDel.disabled = true;
      connect.disabled = false;
      rfb = null;
    });
  }
  connect.addEventListener("click", () => {
    if (rfb) { const old = rfb; rfb = null; old.disconnect(); }
    open();
  });
  whenRunning(vm, () => { if (!rfb && !connect.disabled) open(); });
  ctrlAltDel.addEventListener("click", () => rfb && rfb.sendCtrlAltDel());
  open();
  return { close: () => rfb && rfb.disconnect() };
}

for (const host of document.querySelectorAll("[data-serial-console]")) mountSerialConsole(host, host.dataset.vm);
for (const host of document.querySelectorAll("[data-screen-console]")) mountScreenConsole(host, host.dataset.vm);
