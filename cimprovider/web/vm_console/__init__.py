"""A VM's consoles in the browser: its serial console (COM1) as a terminal
and its screen through VNC, both carried by the server's own websockets
under the session of the signed-in user."""
