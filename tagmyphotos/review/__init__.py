"""What a person does to faces and people: confirm, reject, mark, merge, undo; and the read model.

Why together: every action is one transaction with its undo entry and recounts; `queries`,
`suggested` and `photos` are the one read side the UI, the API and the CLI share.

Modules:
- people: people: create, find, rename, merge, hide, delete, list
- confirm: confirm, reject, ignore, accept, name a group, undo
- mark: faces the detector missed, marked by hand
- undo: the undo journal
- merges: people who are probably one person (merge suggestions), "different people" remembered
- queries: faces to show (one filter, one set of orders), header counts, rejections, groups to name
- suggested: suggested faces grouped per person, in the one order of the review
- photos: photos by people, folder and date; one photo in detail
- imported_names, imported_people: names imported from Immich or PhotoPrism (names read from the
  files themselves are *embedded* names: stages/steps/embedded_names.py)
"""

__all__ = [
    "confirm",
    "imported_names",
    "imported_people",
    "mark",
    "merges",
    "people",
    "photos",
    "queries",
    "suggested",
    "undo",
]
