"""Wiring the console into the application: its routes, its static files and its sign-in."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse, Response

from ains.ui import actions, operations, pages
from ains.ui.rendering import STATIC_DIR
from ains.ui.session import SignInRequired

LOGIN = "/ui/login"


def install_console(app: FastAPI) -> None:
    app.router.routes.extend(actions.router.routes)  # /ui/login before the pages' /ui/…
    app.router.routes.extend(pages.router.routes)
    app.router.routes.extend(operations.router.routes)
    app.mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="console-static")

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _exc: SignInRequired) -> Response:
        if request.headers.get("hx-request"):
            # htmx would swap a redirect's page into a fragment: ask it to navigate instead
            return Response(status_code=401, headers={"HX-Redirect": LOGIN})
        return RedirectResponse(LOGIN, status_code=303)
