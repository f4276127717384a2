"""Saved segments and the filters across related records.

A segment is a list's query arguments saved under a name (``crm.models.Segment``);
opening it opens the list (the members directory or the contacts list) with
those arguments. Two functions turn filters, or a segment, into a SELECT of
ids, for whoever works on a group of rows (bulk actions, mailings):

* ``crm.segments.queries.organisation_ids(tenant_id, filters, source="members")``
* ``crm.segments.queries.contact_ids(tenant_id, filters, source="members")``

``filters`` is a ``Segment`` or a mapping of the list's query arguments
(``request.args``); ``source`` says which list's arguments they are (a segment
knows its own). Contact ids leave out erased contacts; the ids of the
directory's filters are its exact matches (no closest-names fallback).

The blueprint lives in ``crm.segments.views`` (not imported here: the
directory's query module imports ``crm.segments.related``).
"""
