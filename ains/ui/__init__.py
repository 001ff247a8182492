"""The operator console at /ui: server-rendered pages (Jinja2, htmx, Chart.js) over the same
services, authentication and visibility as the REST API."""
