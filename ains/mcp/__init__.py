"""The MCP front door: tools and resources over the task services, at /mcp and `ains mcp`."""
