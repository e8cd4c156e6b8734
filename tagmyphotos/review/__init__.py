"""What a person does to faces and people: confirm, reject, mark, merge, undo; and the read model.

Why together: every action is one transaction with its undo entry and recounts; `queries` is the
one read side the UI, the API and the CLI share.

Modules:
- people: people: create, find, rename, merge, hide, delete, list
- confirm: confirm, reject, ignore, accept, name a group, undo
- mark: faces the detector missed, marked by hand
- undo: the undo journal
- merges: people who are probably one person (merge suggestions), "different people" remembered
- queries: faces, suggestions, rejections and photos by people to show
"""

__all__ = ["confirm", "mark", "merges", "people", "queries", "undo"]
