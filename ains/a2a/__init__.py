"""The A2A front door: the network as an A2A agent (docs/a2a.md)."""
