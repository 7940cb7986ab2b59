"""A secret's tags, with the rules AWS's tagging quotas set: keys of 1 to 128 characters and
values of at most 256 (letters, digits, spaces and `_ . : / = + - @`), keys starting with `aws:`
reserved, at most 50 tags a secret, one value a key. TagResource adds to the tags (a key given
again takes the new value), UntagResource removes keys (one not there is no error)."""

from __future__ import annotations

from steward.secrets.errors import InvalidParameterException

MAX_TAGS = 50
MAX_KEY_LENGTH = 128
MAX_VALUE_LENGTH = 256
RESERVED_PREFIX = "aws:"
_ALLOWED_PUNCTUATION = set("_.:/=+-@")

Tags = list[dict[str, str]]


def _allowed(text: str) -> bool:
    return all(c.isalnum() or c.isspace() or c in _ALLOWED_PUNCTUATION for c in text)


def check_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not _allowed(key):
        raise InvalidParameterException(
            f"The tag key {key!r} is not valid: 1 to {MAX_KEY_LENGTH} letters, digits, spaces "
            "and _ . : / = + - @."
        )
    if key.lower().startswith(RESERVED_PREFIX):
        raise InvalidParameterException(
            f"The tag key {key!r} is not valid: keys starting with {RESERVED_PREFIX} are reserved "
            "for AWS."
        )
    return key


def checked(tags: Tags) -> Tags:
    """`tags` as given, once each is valid and no key comes twice."""
    keys = [check_key(tag["Key"]) for tag in tags]
    for tag in tags:
        value = tag["Value"]
        if len(value) > MAX_VALUE_LENGTH or not _allowed(value):
            raise InvalidParameterException(
                f"The value of tag {tag['Key']!r} is not valid: at most {MAX_VALUE_LENGTH} "
                "letters, digits, spaces and _ . : / = + - @."
            )
    if len(set(keys)) != len(keys):
        raise InvalidParameterException("A tag key can be given only once.")
    return _within_limit(tags)


def _within_limit(tags: Tags) -> Tags:
    if len(tags) > MAX_TAGS:
        raise InvalidParameterException(f"A secret can have at most {MAX_TAGS} tags.")
    return tags


def merged(existing: Tags, added: Tags) -> Tags:
    """`existing` with `added`: a key of both takes its new value, in its old place."""
    new_values = {tag["Key"]: tag["Value"] for tag in checked(added)}
    result = [
        {"Key": tag["Key"], "Value": new_values.pop(tag["Key"], tag["Value"])} for tag in existing
    ]
    result += [{"Key": key, "Value": value} for key, value in new_values.items()]
    return _within_limit(result)


def without(existing: Tags, keys: list[str]) -> Tags:
    for key in keys:
        if not 1 <= len(key) <= MAX_KEY_LENGTH:
            raise InvalidParameterException(f"A tag key is 1 to {MAX_KEY_LENGTH} characters long.")
    gone = set(keys)
    return [tag for tag in existing if tag["Key"] not in gone]
