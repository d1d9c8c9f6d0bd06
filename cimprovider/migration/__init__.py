"""Moving a VM to a peer host: the peers file, the peer client (CIM-XML
over pywbem), the upload channel for disk files (one-time token, SHA-256
checked), and the two-sided state machine that keeps exactly one owner."""
