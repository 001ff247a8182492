"""Wiring the console into the application: its routes, its static files and its sign-in."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse, Response

from ains.exceptions import AinsError
from ains.ui import actions, operations, pages
from ains.ui.rendering import STATIC_DIR, render
from ains.ui.session import SignInRequired

LOGIN = "/ui/login"


def install_console(app: FastAPI) -> None:
    app.router.routes.extend(actions.router.routes)  # /ui/login before the pages' /ui/…
    app.router.routes.extend(pages.router.routes)
    app.router.routes.extend(operations.router.routes)
    app.mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="console-static")
    api_error = app.exception_handlers[AinsError]

    @app.exception_handler(AinsError)
    async def _error(request: Request, exc: AinsError) -> Any:
        """A console page that fails (an unknown task…) is a page saying why; everything else
        (the API, htmx fragments, which show `detail` in the status line) gets problem+json."""
        response = api_error(request, exc)  # audits denials as for every route
        if inspect.isawaitable(response):
            response = await response
        if not _is_page_load(request):
            return response
        context = {"title": exc.title, "detail": exc.detail}
        return render(request, "error.html", None, context, status_code=exc.status_code)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _exc: SignInRequired) -> Response:
        if request.headers.get("hx-request"):
            # htmx would swap a redirect's page into a fragment: ask it to navigate instead
            return Response(status_code=401, headers={"HX-Redirect": LOGIN})
        return RedirectResponse(LOGIN, status_code=303)


def _is_page_load(request: Request) -> bool:
    return (
        request.method == "GET"
        and request.url.path.startswith("/ui")
        and not request.headers.get("hx-request")
        and "text/html" in request.headers.get("accept", "")
    )
