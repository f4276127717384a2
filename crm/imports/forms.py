"""Forms of the imports area: the upload, and the column mapping built per file."""

from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from crm.forms import Form as FlaskForm  # every form refuses control characters
from crm.i18n import _l
from crm.imports.kinds import KINDS, Kind
from crm.imports.reading import CHOSEN_ENCODINGS

NOT_IMPORTED = ""


class UploadForm(FlaskForm):
    kind = SelectField(
        _l("What the file holds"), choices=[SelectChoice(k.key, k.label) for k in KINDS]
    )
    file = FileField(
        _l("File"),
        validators=[FileRequired(_l("Choose a CSV file or an Excel workbook (.xlsx)."))],
        description=_l(
            "CSV (comma, semicolon or tab; UTF-8 or a Windows code page), Excel "
            "(.xlsx or .xls) or OpenDocument (.ods); the first row names the columns."
        ),
    )


class EncodingForm(FlaskForm):
    """Read a text file again in another encoding (when its names come out wrong)."""

    encoding = SelectField(
        _l("Text encoding"), choices=[SelectChoice(k, v) for k, v in CHOSEN_ENCODINGS.items()]
    )


class MappingForm(FlaskForm):
    """One select per field of the kind; its fields are added by ``mapping_form``."""


def mapping_form(kind: Kind, headers: list[str], mapping: dict[str, str], formdata=None):
    """A form with a select per field, preselected with ``mapping`` (the suggestion)."""

    class Form(MappingForm):
        pass

    choices = [SelectChoice(NOT_IMPORTED, _l("— not imported —"))] + [
        SelectChoice(h, h) for h in headers
    ]
    for f in kind.fields:
        label = str(f.label) + (" *" if f.required else "")
        setattr(
            Form,
            f"map_{f.key}",
            SelectField(
                label, choices=choices, default=mapping.get(f.key, NOT_IMPORTED), description=f.hint
            ),
        )
    form = Form(formdata=formdata) if formdata is not None else Form()
    return form


def chosen_mapping(kind: Kind, form) -> dict[str, str]:
    return {f.key: form[f"map_{f.key}"].data for f in kind.fields if form[f"map_{f.key}"].data}
