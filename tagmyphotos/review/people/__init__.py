"""People: create, find, rename, merge, hide, delete, list; keeps face counts and covers right.

Why a package with this thin front: finding a person by name (names), showing people (views)
and changing them in one transaction each (changes) are three concerns with one public surface;
callers import from `tagmyphotos.review.people` and need not know which module holds a name.

Modules:
- names: clean a name; find, get or create the person a name or an id means
- views: people as pages, the API and the CLI show them; "did you mean ...?"
- changes: create, rename, hide, merge, delete, cover; recount and refresh after a change
"""

from tagmyphotos.errors import Conflict, NotFound, PeopleError
from tagmyphotos.review.people.changes import (
    create_person,
    delete_person,
    merge_people,
    recount,
    refresh_after,
    rename_person,
    set_ask_first,
    set_cover,
    set_hidden,
)
from tagmyphotos.review.people.names import (
    NAME_REFUSED_CATEGORIES,
    clean_name,
    find_person,
    get_person,
    name_similarity,
    person_id_of,
    resolve_person,
    shown,
)
from tagmyphotos.review.people.views import (
    NAME_SIMILAR_SHOWN,
    ignored_count,
    list_people,
    person_view,
    person_views,
    similar_people,
)

__all__ = [
    "NAME_REFUSED_CATEGORIES",
    "NAME_SIMILAR_SHOWN",
    "Conflict",
    "NotFound",
    "PeopleError",
    "clean_name",
    "create_person",
    "delete_person",
    "find_person",
    "get_person",
    "ignored_count",
    "list_people",
    "merge_people",
    "name_similarity",
    "person_id_of",
    "person_view",
    "person_views",
    "recount",
    "refresh_after",
    "rename_person",
    "resolve_person",
    "set_ask_first",
    "set_cover",
    "set_hidden",
    "shown",
    "similar_people",
]
