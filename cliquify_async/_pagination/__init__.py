"""Pagination: the list shapes and their rules, the paginator of one listing, several
listings walked at once, and the largest page size a server honours."""
