"""Settings > Names from Google Photos: read a Google Takeout export's names (or count them, a
dry run) and say in plain words what was placed. The work is the import-names job
(stages/steps/takeout_names.py via integrations/stages/import_names.py); the page only starts it with a
folder inside the library and follows its row."""

from __future__ import annotations

from nicegui import ui

from integrations.stages.import_names import takeout_text
from tagmyphotos.store import models as m

from .. import frame
from .name_import import run_import_job


class TakeoutImport:
    def __init__(self) -> None:
        with ui.card().classes("w-full gap-2").props("flat bordered"):
            ui.label("Names from Google Photos (Takeout)").classes("font-medium")
            ui.label(
                "Google Photos exports the people you named as a small file beside each photo, without saying "
                "which face is whom. Tag My Photos reads these files when it looks at new photos; here you can "
                "read them again, for example after copying an export into the library. A person named on many "
                "photos is found on the faces those photos share: clear cases are named at once, the others wait "
                "for you in Review, and a name no face fits stays a name of the photo."
            ).classes("text-sm")
            with ui.row().classes("items-center gap-2 w-full"):
                self.folder = frame.tid(ui.input("Folder in the library (empty: all of it)"), "takeout-folder")
                self.folder.classes("grow")
                self.dry = frame.tid(ui.checkbox("Dry run (only count)"), "takeout-dry-run")
                button = ui.button("Read Takeout names", icon="download", on_click=self.start)
                frame.tid(button, "import-takeout").props("flat dense")
            self.outcome = frame.tid(ui.label().classes("text-sm whitespace-pre-wrap"), "takeout-outcome")

    async def start(self) -> None:
        params: dict[str, object] = {"source": "takeout", "dry_run": bool(self.dry.value)}
        folder = str(self.folder.value or "").strip().strip("/")
        if folder:
            params["folder"] = folder  # resolved inside the library by the job
        self.outcome.set_text("Reading…")
        job = await run_import_job(params)
        if job is not None and job.state == m.JobState.DONE:
            result = job.result or {}
            lines = [takeout_text(result)]
            lines += [f"Could not read {u['file']}: {u['why']}" for u in result.get("unreadable_items", [])[:10]]
            self.outcome.set_text("\n".join(lines))
        elif job is not None:
            self.outcome.set_text(f"The import failed: {job.error}")
