"""The form renderer of the project: one field template for every form."""

from __future__ import annotations

from django.forms.renderers import TemplatesSetting


class FormRenderer(TemplatesSetting):
    """Django's renderer over the project's templates, with ``_field.html`` as the template
    of ``{{ field.as_field_group }}``."""

    field_template_name = "_field.html"
