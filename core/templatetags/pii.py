"""{{ text|masked }}: free text on a page with every mobile and ID number masked."""

from django import template

from core.pii import mask_text

register = template.Library()


@register.filter
def masked(value) -> str:
    return mask_text(str(value or ""))
