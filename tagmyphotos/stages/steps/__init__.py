"""What the jobs share and what runs outside a job: no module here is a job type.

Why apart from the job modules: a reader of tagmyphotos/stages/ sees one module per job type;
the pieces a job calls (or the CLI and the API call directly, with a dry run) are here.

Two words for names that come from outside: *embedded* names are read from the files themselves
(face regions, PersonInImage, keywords, a Google Takeout JSON beside the photo); *imported* names
come from another app (Immich, PhotoPrism: review/imported_names.py, integrations/stages/
import_names.py). Both end as confirmed faces or photo-level names.

Modules:
- raw: where a RAW file's faces come from (its JPEG twin, its preview, LibRaw): for analyze
- embedded_names: the people other tools already wrote into the files, taken at analysis
- place_names: photo-level names placed on faces across the library: for match and Takeout
- takeout_names: `import-names --from takeout DIR`: a Takeout export's names on our photos
- teach_folder: `teach FOLDER`: a folder per person becomes confirmed faces (the teach job's work)
- purge: forget photos marked missing, after a dry-run count (CLI and API, no job)
"""

__all__ = ["embedded_names", "place_names", "purge", "raw", "takeout_names", "teach_folder"]
