"""Input checks that services share, so pages and API refuse bad text with the same words."""


def clean_text(errors: dict, field: str, value, *, required: bool, max_length: int) -> str:
    """Strip and check one text field; problems go into `errors[field]` (nothing is raised)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[field] = "Enter text."
        return ""
    value = value.strip()
    if "\x00" in value:
        errors[field] = "The text contains a NUL character; remove it."
    elif required and not value:
        errors[field] = "This field is required."
    elif len(value) > max_length:
        errors[field] = f"Use at most {max_length} characters (it has {len(value)})."
    return value
